/**
 * The world view's camera: which part of a 2D world the canvas shows, at which zoom. No DOM:
 * unit-tested in Deno. Coordinates: world cells (x right, y down); screen in CSS pixels of the
 * canvas.
 *
 * @module
 */

/** A region of cells: x0,y0 inclusive, x1,y1 exclusive. */
export interface Region {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export const MAX_SCALE = 48;

export class Camera {
  /** World cell at the canvas's top-left corner (fractional). */
  x = 0;
  y = 0;
  /** CSS pixels per cell. */
  scale = 1;
  /** Canvas size in CSS pixels. */
  viewWidth = 1;
  viewHeight = 1;

  constructor(public worldWidth: number, public worldHeight: number) {}

  /** The scale at which the whole world fits. */
  fitScale(): number {
    return Math.min(this.viewWidth / this.worldWidth, this.viewHeight / this.worldHeight);
  }

  minScale(): number {
    return Math.min(this.fitScale() / 2, 1);
  }

  /** Shows the whole world, centred. */
  fit(): void {
    this.scale = this.fitScale();
    this.centreOn(this.worldWidth / 2, this.worldHeight / 2);
  }

  resize(width: number, height: number): void {
    const cx = this.x + this.viewWidth / this.scale / 2;
    const cy = this.y + this.viewHeight / this.scale / 2;
    this.viewWidth = Math.max(1, width);
    this.viewHeight = Math.max(1, height);
    this.centreOn(cx, cy);
  }

  /** Puts world point (wx, wy) at the centre of the canvas. */
  centreOn(wx: number, wy: number): void {
    this.x = wx - this.viewWidth / this.scale / 2;
    this.y = wy - this.viewHeight / this.scale / 2;
    this.clamp();
  }

  /** Zooms by `factor` keeping the world point under screen point (px, py) in place. */
  zoomAt(factor: number, px: number, py: number): void {
    const wx = this.x + px / this.scale;
    const wy = this.y + py / this.scale;
    this.scale = Math.min(MAX_SCALE, Math.max(this.minScale(), this.scale * factor));
    this.x = wx - px / this.scale;
    this.y = wy - py / this.scale;
    this.clamp();
  }

  /** Moves the view by screen pixels (positive dx shows cells further right). */
  panBy(dx: number, dy: number): void {
    this.x += dx / this.scale;
    this.y += dy / this.scale;
    this.clamp();
  }

  /** Keeps at least half the canvas over the world; centres a world smaller than the canvas. */
  clamp(): void {
    const vw = this.viewWidth / this.scale;
    const vh = this.viewHeight / this.scale;
    this.x = vw >= this.worldWidth
      ? (this.worldWidth - vw) / 2
      : Math.min(this.worldWidth - vw / 2, Math.max(-vw / 2, this.x));
    this.y = vh >= this.worldHeight
      ? (this.worldHeight - vh) / 2
      : Math.min(this.worldHeight - vh / 2, Math.max(-vh / 2, this.y));
  }

  /** The cells the canvas shows, clamped to the world (may be empty). */
  visibleRegion(): Region {
    const x0 = Math.max(0, Math.floor(this.x));
    const y0 = Math.max(0, Math.floor(this.y));
    const x1 = Math.min(this.worldWidth, Math.ceil(this.x + this.viewWidth / this.scale));
    const y1 = Math.min(this.worldHeight, Math.ceil(this.y + this.viewHeight / this.scale));
    return { x0, y0, x1: Math.max(x0, x1), y1: Math.max(y0, y1) };
  }

  /** The cell under a screen point, or null outside the world. */
  cellAt(px: number, py: number): [number, number] | null {
    const cx = Math.floor(this.x + px / this.scale);
    const cy = Math.floor(this.y + py / this.scale);
    if (cx < 0 || cy < 0 || cx >= this.worldWidth || cy >= this.worldHeight) return null;
    return [cx, cy];
  }

  /** Screen position of a cell's top-left corner. */
  toScreen(cx: number, cy: number): [number, number] {
    return [(cx - this.x) * this.scale, (cy - this.y) * this.scale];
  }
}

/** Whether region `a` covers region `b`. */
export function covers(a: Region, b: Region): boolean {
  return a.x0 <= b.x0 && a.y0 <= b.y0 && a.x1 >= b.x1 && a.y1 >= b.y1;
}

/** `x0,y0,x1,y1` for the API's region parameter. */
export function regionParam(r: Region): string {
  return `${r.x0},${r.y0},${r.x1},${r.y1}`;
}
