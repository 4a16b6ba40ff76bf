import { HEADERS } from '@tally/contracts';

export type RawEventTenant = { ok: true; tenant: string } | { ok: false; reason: string };

/**
 * The tenant of a raw Kafka event: the `tally-tenant` header or the `tenant` attribute (`ce_tenant` in
 * binary mode). Both may be given only if they agree: otherwise which one wins would decide whose usage
 * it is.
 */
export function rawEventTenant(header: string | undefined, attribute: string | undefined): RawEventTenant {
  if (header !== undefined && header !== '' && attribute !== undefined && header !== attribute) {
    return { ok: false, reason: `tenant: the ${HEADERS.tenant} header ("${header.slice(0, 100)}") and the tenant attribute ("${attribute.slice(0, 100)}") differ` };
  }
  const tenant = header || attribute;
  if (!tenant) return { ok: false, reason: `tenant: missing (set the ${HEADERS.tenant} header or the "tenant" attribute)` };
  if (tenant.includes('\uFFFD')) return { ok: false, reason: `tenant: the ${HEADERS.tenant} header is not valid UTF-8` };
  return { ok: true, tenant };
}
