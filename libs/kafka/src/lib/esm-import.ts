import { compileFunction, constants as vmConstants } from 'node:vm';

/**
 * Imports an ESM-only package (e.g. @platformatic/kafka, @platformatic/wasm-utils: "type": "module", no
 * working `require` export) from Tally's CommonJS, run by ts-node/swc and @swc/jest. Both rewrite a literal
 * `import()` into `require()`, so the import is built with `new Function`, which the transpilers leave alone
 * and Node's own loader serves. Jest's VM contexts refuse that `import()` without
 * --experimental-vm-modules (and their `require` cannot load ESM before Node 24.9), so there a function
 * compiled to use the main context's default loader imports it instead.
 */
const importNative = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

export function importEsm<T>(specifier: string): Promise<T> {
  return importNative(specifier).catch((e: NodeJS.ErrnoException) => {
    if (!e.code?.startsWith('ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING')) throw e;
    const importFromMain = compileFunction('return import(specifier)', ['specifier'], {
      importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as (specifier: string) => Promise<unknown>;
    return importFromMain(specifier);
  }) as Promise<T>;
}
