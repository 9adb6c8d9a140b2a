import { Inject, Injectable } from '@nestjs/common';
import { dnsResolve, NotificationQueue, NotificationService } from '@baton/notifications';
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
}
