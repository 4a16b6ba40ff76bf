import { round2 } from './usage-input';

/**
 * Support tickets input (0-100): 100 minus a penalty per unresolved (open or pending) ticket, by priority
 * — low 5, normal 10, high 20, urgent 35 — that grows with the ticket's age up to double after 14 days
 * (factor 1 + min(1, age / 14 days)), never below 0. Solved and closed tickets weigh nothing. A ticket left
 * open therefore pulls the score down a little more every day, which the daily rescoring picks up.
 */
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';
export type TicketStatus = 'open' | 'pending' | 'solved' | 'closed';

export interface TicketFacts {
  status: TicketStatus;
  priority: TicketPriority;
  openedAt: Date;
}

export interface SupportInput {
  value: number;
  openTickets: number;
  penalty: number;
}

export const TICKET_PRIORITY_PENALTY: Record<TicketPriority, number> = { low: 5, normal: 10, high: 20, urgent: 35 };
export const TICKET_AGE_DOUBLING_DAYS = 14;

export function supportInput(tickets: TicketFacts[], now: Date): SupportInput {
  let penalty = 0;
  let openTickets = 0;
  for (const t of tickets) {
    if (t.status !== 'open' && t.status !== 'pending') continue;
    openTickets++;
    const ageDays = Math.max(0, (now.getTime() - t.openedAt.getTime()) / 86_400_000);
    penalty += TICKET_PRIORITY_PENALTY[t.priority] * (1 + Math.min(1, ageDays / TICKET_AGE_DOUBLING_DAYS));
  }
  return { value: round2(Math.max(0, 100 - penalty)), openTickets, penalty: round2(penalty) };
}
