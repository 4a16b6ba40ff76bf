import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type PaymentReported } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/nest-platform';
import { InvoiceService } from '../invoices/invoice.service';

/** Payment outcomes from the provider: invoice status, dunning schedule and account standing, in the batch's transaction. */
@Controller()
export class PaymentsController {
  constructor(private readonly invoices: InvoiceService) {}

  @EventPattern(TOPICS.billingPayments)
  async onPayments(@Payload() batch: ConsumedBatch<PaymentReported>): Promise<void> {
    const refused = await this.invoices.applyPayments(batch.manager, batch.emit, batch.messages.map((m) => m.value));
    for (const m of batch.messages) {
      const reason = refused.get(m.value);
      if (reason) batch.deadLetter(m, reason);
    }
  }
}
