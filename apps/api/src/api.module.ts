import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import type { Runtime } from '@baton/runtime';
import { ApiKeys } from './common/api-keys.service';
import { AuthGuard } from './common/auth.guard';
import { BackpressureGuard } from './common/backpressure.guard';
import { Backpressure } from './common/backpressure.service';
import { IdempotencyInterceptor } from './common/idempotency.interceptor';
import { RateLimitGuard } from './common/rate-limit.guard';
import { RUNTIME } from './common/tokens';
import { HealthController } from './health/health.controller';
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
        TenantsController,
        QueuesController,
        JobsController,
        DeadLettersController,
        OpsController,
        SchedulesController,
        AlertsController,
      ],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        ApiKeys,
        TaskServiceProvider,
        ScheduleServiceProvider,
        Backpressure,
        // Order matters: who calls, then how fast, then whether the system can take more.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: BackpressureGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    };
  }
}
