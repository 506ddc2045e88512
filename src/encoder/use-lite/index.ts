// Placeholder until the use-lite family lands (being written now); replaced wholesale.
import type { ModelFamily } from '../types.js';
import { PlaitError } from '../../errors/index.js';

const notYet = (): never => {
  throw new PlaitError('MODEL_NOT_FOUND', { message: 'use-lite family not built yet' });
};
export const useLiteFamily: ModelFamily = { name: 'use-lite', loadTokenizer: async () => notYet(), loadBackend: async () => notYet() };
