import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Runtime } from '@baton/runtime';
import { BatchServiceProvider } from './batches/batch-service.provider';
import { BatchesController } from './batches/batches.controller';
import { ClusterCallbacksController } from './batches/cluster-callbacks.controller';
import { ApiKeys } from './common/api-keys.service';
import { AuthGuard } from './common/auth.guard';
import { Backpressure } from './common/backpressure.service';
import { keyRateLimiter, RateLimitGuard } from './common/rate-limit.guard';
import { KeyRateLimiter } from './common/rate-limiter';
import { RUNTIME } from './common/tokens';
import { HealthController } from './health/health.controller';
import { NotificationServiceProvider } from './notifications/notification-service.provider';
import { NotificationsController } from './notifications/notifications.controller';
import { SubscriptionsController } from './notifications/subscriptions.controller';
import { InferenceServiceProvider } from './inference/inference-service.provider';
import { InferenceController } from './inference/inference.controller';
import { DeadLettersController } from './operators/dead-letters.controller';
import { JobsController } from './operators/jobs.controller';
import { OpsController } from './operators/ops.controller';
import { QueuesController } from './operators/queues.controller';
import { TaskServiceProvider } from './tasks/task-service.provider';
import { TasksController } from './tasks/tasks.controller';
import { TenantsController } from './tenants/tenants.controller';
import { AlertsController } from './alerts/alerts.controller';
import { ScheduleServiceProvider } from './schedules/schedule-service.provider';
import { SchedulesController } from './schedules/schedules.controller';

@Module({})
export class ApiModule {
  static forRuntime(runtime: Runtime): DynamicModule {
    return {
      module: ApiModule,
      controllers: [
        HealthController,
        TasksController,
        BatchesController,
        ClusterCallbacksController,
        TenantsController,
        QueuesController,
        JobsController,
        DeadLettersController,
        OpsController,
        SubscriptionsController,
        NotificationsController,
        SchedulesController,
        AlertsController,
        InferenceController,
      ],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        ApiKeys,
        TaskServiceProvider,
        BatchServiceProvider,
        NotificationServiceProvider,
        ScheduleServiceProvider,
        InferenceServiceProvider,
        Backpressure,
        { provide: KeyRateLimiter, useFactory: keyRateLimiter, inject: [RUNTIME] },
        // Order matters: who calls, then how fast; routes that enqueue then ask whether the system can take more
        // (@Backpressure), and create routes honour Idempotency-Key (@Idempotent).
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
