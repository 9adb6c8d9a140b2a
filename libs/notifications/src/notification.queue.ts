import { QUEUES } from '@baton/contracts';
import type { JobProducer } from '@baton/queue';
import type { DeliveryQueue } from './dispatcher';
import type { DeliveryRecord } from './notification.store';

/** Delivery jobs on the notifications queue; the job id is the delivery id. */
export class NotificationQueue implements DeliveryQueue {
  constructor(private readonly producer: JobProducer) {}

  async enqueue(deliveries: DeliveryRecord[], now = new Date()): Promise<void> {
    await this.producer.addBulk(
      'notify.deliver',
      deliveries.map((d) => ({
        payload: { deliveryId: d.id, tenantId: d.tenantId ?? undefined },
        opts: {
          jobId: d.id,
          delay: d.nextAttemptAt ? Math.max(0, d.nextAttemptAt.getTime() - now.getTime()) : 0,
          // Delivery attempts are counted in Postgres (retries move the job back to delayed); BullMQ's own attempts
          // only cover a handler that throws, e.g. while Postgres is away.
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 5000 },
        },
      })),
    );
  }

  async state(deliveryId: string): Promise<string> {
    return this.producer.queue(QUEUES.notifications).getJobState(deliveryId);
  }

  async requeue(delivery: DeliveryRecord): Promise<void> {
    const job = await this.producer.queue(QUEUES.notifications).getJob(delivery.id);
    if (job && !(await job.isActive())) await job.remove().catch(() => undefined);
    await this.enqueue([delivery]);
  }
}
