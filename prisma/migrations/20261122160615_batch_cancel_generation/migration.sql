-- AlterTable
ALTER TABLE "batch_jobs" ADD COLUMN     "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "batches" ADD COLUMN     "cancel_requested_at" TIMESTAMPTZ(3),
ADD COLUMN     "fed_at" TIMESTAMPTZ(3);

-- DropIndex: nothing reads batch jobs by (status, next_check_at); step timing lives in the queue.
DROP INDEX "batch_jobs_status_next_check_at_idx";
