import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { isDelivered, nextStep, parseRetryAfter, type AttemptOutcome } from './domain/retry-schedule';
import { pickWithinLimits, saturated } from './domain/send-limits';
import { secretKey, webhookHeaders } from './domain/webhook-signature';
import { postWebhook, type SendOutcome } from './webhook-sender';
import { webhookAttemptSeconds, webhookDeliveries, webhooksInFlight } from './webhook-metrics';
import { WebhookRepository, type ClaimedDelivery } from './webhook.repository';
import { webhookSettings, type WebhookSettings } from './webhooks.config';

/** How long past the request timeout a claim stays leased before another sender may take the delivery. */
const LEASE_MARGIN_MS = 30_000;

/**
 * Sends due deliveries. Claims them from Postgres (SKIP LOCKED, so several instances share the work) within
 * in-flight limits per endpoint, per tenant and in all, sends each without waiting for the others (every request
 * ends at the timeout), records the answer and schedules the retry. Runs beside the consumers and never inside
 * their transactions: a slow endpoint delays nothing but its own deliveries.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  readonly settings: WebhookSettings;
  private readonly logger: JsonLogger;
  private readonly byEndpoint = new Map<string, number>();
  private readonly byTenant = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private pumping = false;
  private again = false;
  private started = false;

  constructor(
    private readonly repository: WebhookRepository,
    logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = webhookSettings(config);
    this.logger = logger.child('webhooks');
  }

  onApplicationBootstrap(): void {
    // Idempotent: a second call never starts a second loop (Nest calls it once per app; checked for this hybrid app).
    if (this.started) return;
    this.started = true;
    this.timer = setInterval(() => this.wake(), this.settings.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    while (this.pumping || this.inFlight.size > 0) await Promise.race([...this.inFlight, new Promise((r) => setTimeout(r, 20))]);
  }

  /** Looks for due deliveries now (after new ones committed, a redelivery, a finished request, the poll). */
  wake(): void {
    if (this.stopping.signal.aborted) return;
    this.again = true;
    if (this.pumping) return;
    this.pumping = true;
    void this.pump().finally(() => {
      this.pumping = false;
      // A wake that came while the last claim was finishing is not lost.
      if (this.again) this.wake();
    });
  }

  private get total(): number {
    return this.inFlight.size;
  }

  private async pump(): Promise<void> {
    try {
      while (this.again) {
        this.again = false;
        if (this.total >= this.settings.limits.total || this.stopping.signal.aborted) return;
        const inFlight = { total: this.total, byTenant: this.byTenant, byEndpoint: this.byEndpoint };
        const skip = saturated(inFlight, this.settings.limits);
        const claimed = await this.repository.claimDue(
          { perEndpoint: this.settings.limits.perEndpoint, skipEndpoints: skip.endpoints, skipTenants: skip.tenants, leaseMs: this.settings.timeoutMs + LEASE_MARGIN_MS },
          (candidates) => pickWithinLimits(candidates, { total: this.total, byTenant: this.byTenant, byEndpoint: this.byEndpoint }, this.settings.limits),
        );
        for (const delivery of claimed) this.start(delivery);
        // Something was claimed: there may be more due than one claim took.
        if (claimed.length > 0) this.again = true;
      }
    } catch (e) {
      this.again = false;
      // Postgres unreachable or similar: the poll tries again; nothing was claimed by the failed transaction.
      this.logger.error('claiming due webhook deliveries failed; retrying at the next poll', { error: e as Error });
    }
  }

  private start(delivery: ClaimedDelivery): void {
    const bump = (map: Map<string, number>, key: string, by: number) => {
      const n = (map.get(key) ?? 0) + by;
      if (n <= 0) map.delete(key);
      else map.set(key, n);
    };
    bump(this.byEndpoint, delivery.endpointId, 1);
    bump(this.byTenant, delivery.tenant, 1);
    const running = this.attempt(delivery)
      .catch((e: unknown) => this.logger.error('recording a webhook attempt failed; the delivery is tried again when its lease ends', { delivery: delivery.id, error: e as Error }))
      .finally(() => {
        this.inFlight.delete(running);
        webhooksInFlight.set(this.inFlight.size);
        bump(this.byEndpoint, delivery.endpointId, -1);
        bump(this.byTenant, delivery.tenant, -1);
        this.wake();
      });
    this.inFlight.add(running);
    webhooksInFlight.set(this.inFlight.size);
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const startedAt = new Date();
    const parsed = secretKey(delivery.secret);
    const sent: SendOutcome =
      'error' in parsed
        ? { refused: true, error: `the endpoint's secret ${parsed.error}`, durationMs: 0 }
        : await postWebhook(delivery.url, { ...webhookHeaders(parsed.key, delivery.id, Math.floor(startedAt.getTime() / 1000), delivery.payload) }, delivery.payload, {
            timeoutMs: this.settings.timeoutMs,
            allowPrivate: this.settings.allowPrivateTargets,
            signal: this.stopping.signal,
          });
    if (sent.aborted) {
      await this.repository.releaseClaim(delivery);
      return;
    }
    const outcome: AttemptOutcome =
      sent.statusCode !== undefined && isDelivered(sent.statusCode)
        ? { kind: 'delivered', statusCode: sent.statusCode }
        : { kind: 'failed', retryable: !sent.refused, retryAfterMs: parseRetryAfter(sent.retryAfter, Date.now()) };
    const next = nextStep(delivery.attempt, outcome, this.settings.retry, Math.random);
    const error = sent.error ?? (sent.statusCode !== undefined && outcome.kind === 'failed' ? `HTTP ${sent.statusCode}` : undefined);
    await this.repository.recordAttempt(delivery, { startedAt, durationMs: sent.durationMs, statusCode: sent.statusCode, error, responseBody: sent.responseBody }, next);
    webhookAttemptSeconds.observe({ result: resultLabel(sent) }, sent.durationMs / 1000);
    webhookDeliveries.inc({ outcome: next.status === 'pending' ? 'retried' : next.status });
    if (next.status === 'failed') {
      this.logger.warn('webhook delivery failed after its last attempt', { delivery: delivery.id, tenant: delivery.tenant, endpoint: delivery.endpointId, attempts: delivery.attempt, error });
    }
  }
}

function resultLabel(sent: SendOutcome): string {
  if (sent.refused) return 'refused';
  if (sent.statusCode !== undefined) return `${Math.floor(sent.statusCode / 100)}xx`;
  return sent.error?.startsWith('timed out') ? 'timeout' : 'network';
}
