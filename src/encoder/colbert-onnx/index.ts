// Placeholder until the colbert-onnx family lands (being written now); replaced wholesale.
import type { ModelFamily } from '../types.js';
import { PlaitError } from '../../errors/index.js';

const notYet = (): never => {
  throw new PlaitError('MODEL_NOT_FOUND', { message: 'colbert-onnx family not built yet' });
};
export const colbertOnnxFamily: ModelFamily = { name: 'colbert-onnx', loadTokenizer: async () => notYet(), loadBackend: async () => notYet() };
