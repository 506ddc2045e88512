// openapi-typescript, resolved from this package: its import of "typescript" finds TypeScript 5 here.
export { default, astToString } from 'openapi-typescript';
