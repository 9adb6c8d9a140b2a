-- AlterTable
ALTER TABLE "schedule_runs" ADD COLUMN     "error" JSONB;

-- CreateIndex
CREATE INDEX "schedule_runs_schedule_id_status_idx" ON "schedule_runs"("schedule_id", "status");
