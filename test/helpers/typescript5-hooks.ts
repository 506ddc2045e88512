/**
 * Module resolution hooks (node:module register) for test/openapi.test.ts: openapi-typescript's
 * import of "typescript" resolves to the typescript5 alias (TypeScript 5, its peer dependency,
 * whose JS API it builds its output with); every other import resolves as usual.
 */
interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<unknown>;

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<unknown> {
  if (specifier === 'typescript' && (context.parentURL ?? '').includes('/node_modules/openapi-typescript/')) return next('typescript5', context);
  return next(specifier, context);
}
