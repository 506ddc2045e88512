/**
 * The option-key check moved to util/option-keys.ts (below every stage, so the encoder and format
 * layers may use it). This re-export keeps `../search/option-keys.js` imports written on other
 * branches building; nothing in this tree imports it.
 */
export { checkOptionKeys, closestKey, type OptionKeys } from '../util/option-keys.js';
