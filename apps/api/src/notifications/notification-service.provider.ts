import { Inject, Injectable } from '@nestjs/common';
import { dnsResolve, NotificationQueue, NotificationService, type NotifySpec } from '@baton/notifications';
import type { Runtime } from '@baton/runtime';
import { RUNTIME } from '../common/tokens';

/** The notification use cases, built once from the runtime, for every controller that needs them. */
@Injectable()
export class NotificationServiceProvider {
  readonly service: NotificationService;

  constructor(@Inject(RUNTIME) runtime: Runtime) {
    this.service = new NotificationService(
      runtime.stores.notifications,
      new NotificationQueue(runtime.producer),
      {
        allowPrivate: runtime.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        resolve: dnsResolve(),
        emailEnabled: runtime.config.SMTP_URL !== '',
      },
      runtime.log,
    );
  }

  /**
   * An object's `notify`, checked where every notify is (URLs, private addresses, mailboxes); a webhook given
   * without a secret gets one. `reveal` adds that secret to the answer once: only to the object this request created
   * under its reserved id (a dedupe or idempotency hit answers with an older object, whose secret is not this one).
   */
  async prepare(input: unknown): Promise<{
    notify: NotifySpec | undefined;
    reveal: <T extends { id: string }>(created: T, reservedId: string | undefined) => T & { webhookSecret?: string };
  }> {
    const { notify, generatedSecret } = await this.service.prepareNotify(input);
    return {
      notify: notify ?? undefined,
      reveal: (created, reservedId) =>
        generatedSecret && created.id === reservedId ? { ...created, webhookSecret: generatedSecret } : created,
    };
  }
}
