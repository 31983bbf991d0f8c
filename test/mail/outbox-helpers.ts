import { Mailer } from '../../src/domain/mail/mail.js';
import { EMAIL_TEMPLATES, ViewsEmailComposer } from '../../src/mail/email-composer.js';
import { SqlOutboxRepository } from '../../src/storage/repositories/outbox-repository.js';
import type { RunningGatehouse } from '../support/gatehouse.js';

/**
 * A second Mailer over the running instance's own database (PGlite allows one opener): what a flow on
 * that instance would do, except that the instance's worker is not woken — it finds the message
 * by polling, as an instance that did not queue it would.
 */
export function mailerOver(gh: RunningGatehouse): Mailer {
  return new Mailer(new SqlOutboxRepository(gh.instance.database), new ViewsEmailComposer(EMAIL_TEMPLATES), {
    productName: 'Gatehouse',
    issuer: gh.issuer,
  });
}

/** Fast worker settings for tests: poll often, retry after ~0.5–1 s, at most ~2 s apart. */
export const FAST_WORKER = {
  pollIntervalMs: 100,
  retry: { baseDelayMs: 1_000, maxDelayMs: 2_000, giveUpAfterMs: 3_600_000 },
};
