import { supportInput, type TicketFacts } from './support-input';

const NOW = new Date('2026-06-30T00:00:00Z');
const ticket = (priority: TicketFacts['priority'], ageDays: number, status: TicketFacts['status'] = 'open'): TicketFacts => ({ priority, status, openedAt: new Date(NOW.getTime() - ageDays * 86_400_000) });

describe('supportInput', () => {
  it('is 100 without unresolved tickets', () => {
    expect(supportInput([], NOW)).toEqual({ value: 100, openTickets: 0, penalty: 0 });
    expect(supportInput([ticket('urgent', 3, 'solved'), ticket('urgent', 3, 'closed')], NOW).value).toBe(100);
  });

  it('takes 5/10/20/35 points for a fresh low/normal/high/urgent ticket', () => {
    expect(['low', 'normal', 'high', 'urgent'].map((p) => supportInput([ticket(p as TicketFacts['priority'], 0)], NOW).value)).toEqual([95, 90, 80, 65]);
  });

  it('doubles a ticket\'s weight over 14 days, then no more', () => {
    expect(supportInput([ticket('high', 7)], NOW).value).toBe(70); // 20 × 1.5
    expect(supportInput([ticket('high', 14)], NOW).value).toBe(60); // 20 × 2
    expect(supportInput([ticket('high', 60)], NOW).value).toBe(60);
  });

  it('counts pending as unresolved, adds up, and floors at 0', () => {
    expect(supportInput([ticket('normal', 0), ticket('low', 0, 'pending')], NOW)).toEqual({ value: 85, openTickets: 2, penalty: 15 });
    expect(supportInput([ticket('urgent', 14), ticket('urgent', 0)], NOW).value).toBe(0); // 70 + 35
  });

  it('treats a ticket opened in the future (clock skew) as fresh', () => {
    expect(supportInput([ticket('normal', -2)], NOW).value).toBe(90);
  });
});
