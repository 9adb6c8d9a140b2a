import { Module, type DynamicModule } from '@nestjs/common';
import type { Runtime } from '@baton/runtime';
import { BatchProcessor } from './processors/batch.processor';
import { MaintenanceProcessor } from './processors/maintenance.processor';
import { NotificationProcessor } from './processors/notification.processor';
import { ScheduleProcessor } from './processors/schedule.processor';
import { TaskProcessor } from './processors/task.processor';
import { QueueWorkers } from './queue-workers.service';
import { RUNTIME } from './tokens';

@Module({})
export class WorkerModule {
  static forRuntime(runtime: Runtime): DynamicModule {
    return {
      module: WorkerModule,
      providers: [
        { provide: RUNTIME, useValue: runtime },
        TaskProcessor,
        BatchProcessor,
        MaintenanceProcessor,
        NotificationProcessor,
        ScheduleProcessor,
        QueueWorkers,
      ],
    };
  }
}
