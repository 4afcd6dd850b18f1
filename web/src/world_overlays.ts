/// <reference lib="dom" />
/**
 * What the world view draws over the cells: the cell grid, organism markers, and the selected
 * organism (body, IP, DPs, direction). Pure drawing on a 2D context through the camera.
 *
 * @module
 */

import type { OrganismDetail, OrganismSummary } from "./api.ts";
import type { Camera, Region } from "./camera.ts";
import { ownerCss } from "./molecule.ts";

/** The owners of a loaded region's cells, row-major. */
export interface OwnedCells {
  readonly region: Region;
  readonly width: number;
  readonly owners: Int32Array;
}

/** Cell grid lines over the visible region (worth drawing from about 10 pixels per cell). */
export function drawGrid(ctx: CanvasRenderingContext2D, cam: Camera): void {
  const r = cam.visibleRegion();
  ctx.strokeStyle = "rgba(255,255,255,0.06)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let x = r.x0; x <= r.x1; x++) {
    const [sx] = cam.toScreen(x, 0);
    const [, top] = cam.toScreen(0, r.y0);
    const [, bottom] = cam.toScreen(0, r.y1);
    ctx.moveTo(Math.round(sx) + 0.5, top);
    ctx.lineTo(Math.round(sx) + 0.5, bottom);
  }
  for (let y = r.y0; y <= r.y1; y++) {
    const [, sy] = cam.toScreen(0, y);
    const [left] = cam.toScreen(r.x0, 0);
    const [right] = cam.toScreen(r.x1, 0);
    ctx.moveTo(left, Math.round(sy) + 0.5);
    ctx.lineTo(right, Math.round(sy) + 0.5);
  }
  ctx.stroke();
}

/** A marker at the IP of each living organism except `selectedId` (skipped when too dense). */
export function drawOrganisms(
  ctx: CanvasRenderingContext2D,
  cam: Camera,
  organisms: readonly OrganismSummary[],
  selectedId: number | undefined,
): void {
  const s = cam.scale;
  if (s < 2 || organisms.length > 5000) return;
  const size = Math.max(3, s);
  ctx.lineWidth = s >= 8 ? 2 : 1;
  for (const o of organisms) {
    if (!o.alive || o.ip.length < 2 || o.id === selectedId) continue;
    const [sx, sy] = cam.toScreen(o.ip[0]! + 0.5, o.ip[1]! + 0.5);
    if (sx < -size || sy < -size || sx > cam.viewWidth + size || sy > cam.viewHeight + size) {
      continue;
    }
    ctx.strokeStyle = ownerCss(o.id);
    ctx.strokeRect(sx - size / 2, sy - size / 2, size, size);
  }
}

/** Lightens the cells the organism owns (in the loaded region), so its body stands out. */
function drawBody(
  ctx: CanvasRenderingContext2D,
  cam: Camera,
  d: OwnedCells | null,
  id: number,
): void {
  if (!d) return;
  const s = cam.scale;
  const v = cam.visibleRegion();
  const x0 = Math.max(v.x0, d.region.x0);
  const x1 = Math.min(v.x1, d.region.x1);
  const y0 = Math.max(v.y0, d.region.y0);
  const y1 = Math.min(v.y1, d.region.y1);
  ctx.beginPath();
  for (let y = y0; y < y1; y++) {
    const row = (y - d.region.y0) * d.width - d.region.x0;
    for (let x = x0; x < x1; x++) {
      if (d.owners[row + x] !== id) continue;
      const [sx, sy] = cam.toScreen(x, y);
      ctx.rect(sx, sy, s, s);
    }
  }
  ctx.fillStyle = "rgba(255,255,255,0.3)";
  ctx.fill();
}

/**
 * The selected organism: its body lightened (from `body`, the current tick's loaded region, if
 * any), boxes on its IP and DPs, and an arrow in its direction.
 */
export function drawSelected(
  ctx: CanvasRenderingContext2D,
  cam: Camera,
  o: OrganismDetail,
  body: OwnedCells | null,
): void {
  const s = cam.scale;
  drawBody(ctx, cam, body, o.id);
  const size = Math.max(8, s + 4);
  ctx.font = "bold 11px system-ui, sans-serif";
  ctx.textBaseline = "bottom";
  const box = (pos: readonly number[], colour: string, label: string, dashed: boolean) => {
    if (pos.length < 2) return;
    const [cx, cy] = cam.toScreen(pos[0]! + 0.5, pos[1]! + 0.5);
    ctx.setLineDash(dashed ? [3, 3] : []);
    ctx.strokeStyle = "rgba(0,0,0,0.7)";
    ctx.lineWidth = 4;
    ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.strokeRect(cx - size / 2, cy - size / 2, size, size);
    ctx.setLineDash([]);
    ctx.fillStyle = "rgba(0,0,0,0.65)";
    const tw = ctx.measureText(label).width;
    ctx.fillRect(cx - size / 2, cy - size / 2 - 14, tw + 6, 13);
    ctx.fillStyle = colour;
    ctx.fillText(label, cx - size / 2 + 3, cy - size / 2 - 2);
  };
  o.dataPointers.forEach((dp, i) =>
    box(dp, i === 0 ? "#ffb02e" : "#ff6bd6", `DP${i}`, i !== o.activeDp)
  );
  box(o.ip, "#ffffff", `IP #${o.id}`, false);
  // Direction arrow from the IP.
  if (o.ip.length >= 2 && o.dv.length >= 2 && (o.dv[0] !== 0 || o.dv[1] !== 0)) {
    const [cx, cy] = cam.toScreen(o.ip[0]! + 0.5, o.ip[1]! + 0.5);
    const len = Math.max(22, s * 2.5);
    const n = Math.hypot(o.dv[0]!, o.dv[1]!);
    const ux = o.dv[0]! / n;
    const uy = o.dv[1]! / n;
    const x0 = cx + ux * (size / 2 + 2);
    const y0 = cy + uy * (size / 2 + 2);
    const x1 = x0 + ux * len;
    const y1 = y0 + uy * len;
    for (const [colour, width] of [["rgba(0,0,0,0.7)", 5], ["#ffffff", 2]] as const) {
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x1 + ux * 6, y1 + uy * 6);
      ctx.lineTo(x1 - uy * 5, y1 + ux * 5);
      ctx.lineTo(x1 + uy * 5, y1 - ux * 5);
      ctx.closePath();
      ctx.fill();
    }
  }
}
