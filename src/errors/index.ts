export { PlaitError, ERROR_TEMPLATES, extendedError, invalidArgument, isPlaitError, isErrorCode, workerCodedError, describe, abortedBy, checkSignal } from './plait-error.js';
export type { ErrorCode, ErrorDetails } from './plait-error.js';
export { noSpaceCode } from './no-space.js';
export { checkString, checkNonEmptyString, checkObject, checkShape, checkOptions, checkArray, checkStringArray, checkMap, checkNumbers, checkIterable, checkFunction, checkNumber, checkInstance } from './argument-checks.js';
