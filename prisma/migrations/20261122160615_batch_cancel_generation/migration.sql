-- AlterTable
ALTER TABLE "batch_jobs" ADD COLUMN     "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "batches" ADD COLUMN     "cancel_requested_at" TIMESTAMPTZ(3),
ADD COLUMN     "fed_at" TIMESTAMPTZ(3);

-- DropIndex: nothing reads batch jobs by (status, next_check_at); step timing lives in the queue.
DROP INDEX "batch_jobs_status_next_check_at_idx";

-- Partial: only jobs with a cluster id are looked up by it, and inserting queued jobs then costs this index nothing.
DROP INDEX "batch_jobs_cluster_job_id_idx";
CREATE INDEX "batch_jobs_cluster_job_id_idx" ON "batch_jobs"("cluster_job_id") WHERE "cluster_job_id" IS NOT NULL;
