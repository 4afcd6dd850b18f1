/**
 * The S3 requests `S3Storage` makes, as an interface ({@link S3Operations}) with one
 * implementation on the SDK ({@link sdkOperations}); unit tests put an in-memory fake
 * (`./s3_fake.ts`) in its place.
 *
 * @module
 */

import {
  AbortMultipartUploadCommand,
  type AbortMultipartUploadCommandInput,
  CompleteMultipartUploadCommand,
  type CompleteMultipartUploadCommandInput,
  CreateMultipartUploadCommand,
  type CreateMultipartUploadCommandInput,
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  GetObjectCommand,
  type GetObjectCommandInput,
  HeadBucketCommand,
  type HeadBucketCommandInput,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCommand,
  type UploadPartCommandInput,
} from "@aws-sdk/client-s3";

/** The body of a GetObject answer (the SDK's stream mixin, reduced to what is used). */
export interface S3Body {
  /** The body as a stream, read once. */
  transformToWebStream(): ReadableStream<Uint8Array>;
  /** The whole body. */
  transformToByteArray(): Promise<Uint8Array>;
}

/**
 * The S3 requests the storage makes, with the SDK's inputs and the parts of the outputs it
 * reads. {@link sdkOperations} implements them on an S3Client; unit tests pass a fake.
 */
export interface S3Operations {
  /** HeadBucket. */
  headBucket(input: HeadBucketCommandInput): Promise<unknown>;
  /** PutObject. */
  putObject(input: PutObjectCommandInput): Promise<{ ETag?: string | undefined }>;
  /** CreateMultipartUpload. */
  createMultipartUpload(
    input: CreateMultipartUploadCommandInput,
  ): Promise<{ UploadId?: string | undefined }>;
  /** UploadPart. */
  uploadPart(
    input: UploadPartCommandInput,
  ): Promise<{ ETag?: string | undefined; ChecksumCRC32?: string | undefined }>;
  /** CompleteMultipartUpload. */
  completeMultipartUpload(
    input: CompleteMultipartUploadCommandInput,
  ): Promise<{ ETag?: string | undefined }>;
  /** AbortMultipartUpload. */
  abortMultipartUpload(input: AbortMultipartUploadCommandInput): Promise<unknown>;
  /** HeadObject. */
  headObject(
    input: HeadObjectCommandInput,
  ): Promise<{
    ContentLength?: number | undefined;
    ETag?: string | undefined;
    LastModified?: Date | undefined;
  }>;
  /** GetObject. */
  getObject(input: GetObjectCommandInput): Promise<{ Body?: S3Body | undefined }>;
  /** ListObjectsV2. */
  listObjectsV2(input: ListObjectsV2CommandInput): Promise<{
    Contents?:
      | { Key?: string | undefined; Size?: number | undefined; LastModified?: Date | undefined }[]
      | undefined;
    /** With a delimiter: the key prefixes up to and including it. */
    CommonPrefixes?: { Prefix?: string | undefined }[] | undefined;
    IsTruncated?: boolean | undefined;
    NextContinuationToken?: string | undefined;
  }>;
  /** DeleteObject. */
  deleteObject(input: DeleteObjectCommandInput): Promise<unknown>;
  /** ListMultipartUploads: the uploads begun and neither completed nor aborted. */
  listMultipartUploads(input: ListMultipartUploadsCommandInput): Promise<{
    Uploads?:
      | { Key?: string | undefined; UploadId?: string | undefined; Initiated?: Date | undefined }[]
      | undefined;
    IsTruncated?: boolean | undefined;
    NextKeyMarker?: string | undefined;
    NextUploadIdMarker?: string | undefined;
  }>;
  /** Releases connections. */
  destroy(): void;
}

/** {@link S3Operations} on an S3Client. `destroy()` destroys the client. */
export function sdkOperations(client: S3Client, destroy = true): S3Operations {
  return {
    headBucket: (input) => client.send(new HeadBucketCommand(input)),
    putObject: (input) => client.send(new PutObjectCommand(input)),
    createMultipartUpload: (input) => client.send(new CreateMultipartUploadCommand(input)),
    uploadPart: (input) => client.send(new UploadPartCommand(input)),
    completeMultipartUpload: (input) => client.send(new CompleteMultipartUploadCommand(input)),
    abortMultipartUpload: (input) => client.send(new AbortMultipartUploadCommand(input)),
    headObject: (input) => client.send(new HeadObjectCommand(input)),
    getObject: async (input) => {
      const out = await client.send(new GetObjectCommand(input));
      const body = out.Body;
      if (body === undefined) return {};
      return {
        Body: {
          transformToWebStream: () => body.transformToWebStream() as ReadableStream<Uint8Array>,
          transformToByteArray: () => body.transformToByteArray(),
        },
      };
    },
    listObjectsV2: (input) => client.send(new ListObjectsV2Command(input)),
    deleteObject: (input) => client.send(new DeleteObjectCommand(input)),
    listMultipartUploads: (input) => client.send(new ListMultipartUploadsCommand(input)),
    destroy: () => {
      if (destroy) client.destroy();
    },
  };
}
