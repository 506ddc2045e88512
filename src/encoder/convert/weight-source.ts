/**
 * What the converter needs from a weights file, whatever its format (safetensors, PyTorch zip):
 * tensor names, shapes, and float32 data on demand. Several files (a transformer and a `1_Dense`
 * projection) are read through one `WeightSource` each.
 */

/** A row-major float32 tensor. */
export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export interface WeightSource {
  readonly file: string;
  names(): string[];
  /** Null when the tensor is absent. */
  shape(name: string): number[] | null;
  /** Float32 copy of the tensor, null when absent. */
  get(name: string): WeightTensor | null;
}
