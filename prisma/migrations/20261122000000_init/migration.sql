-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'member', 'viewer');

-- CreateEnum
CREATE TYPE "WorkStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateEnum
CREATE TYPE "Outcome" AS ENUM ('all_succeeded', 'partial', 'all_failed', 'cancelled');

-- CreateTable
CREATE TABLE "tenants" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "name" TEXT,
    "secret_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_records" (
    "tenant_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'in_progress',
    "resource_id" TEXT NOT NULL,
    "response_status" INTEGER,
    "response_body" JSONB,
    "response_headers" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_records_pkey" PRIMARY KEY ("tenant_id","key")
);

-- CreateTable
CREATE TABLE "tasks" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "handler" TEXT NOT NULL,
    "payload" JSONB,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "progress" INTEGER NOT NULL DEFAULT 0,
    "result" JSONB,
    "last_error" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "max_attempts" INTEGER NOT NULL,
    "priority" INTEGER NOT NULL DEFAULT 5,
    "run_at" TIMESTAMPTZ(3),
    "timeout_ms" INTEGER,
    "deadline_at" TIMESTAMPTZ(3),
    "dedupe_key" TEXT,
    "notify" JSONB,
    "schedule_run_id" TEXT,
    "request_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "heartbeat_at" TIMESTAMPTZ(3),

    CONSTRAINT "tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_logs" (
    "id" BIGSERIAL NOT NULL,
    "task_id" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" TEXT NOT NULL DEFAULT 'info',
    "message" TEXT NOT NULL,

    CONSTRAINT "task_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "batches" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "name" TEXT,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "outcome" "Outcome",
    "priority" INTEGER NOT NULL DEFAULT 5,
    "policy" JSONB NOT NULL,
    "dedupe" BOOLEAN NOT NULL DEFAULT false,
    "notify" JSONB,
    "total" INTEGER NOT NULL,
    "queued" INTEGER NOT NULL,
    "running" INTEGER NOT NULL DEFAULT 0,
    "succeeded" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "generation" INTEGER NOT NULL DEFAULT 0,
    "schedule_run_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "batches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "batch_jobs" (
    "id" TEXT NOT NULL,
    "batch_id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "params" JSONB NOT NULL,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "cluster_status" TEXT,
    "cluster_job_id" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" JSONB,
    "submitted_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "next_check_at" TIMESTAMPTZ(3),

    CONSTRAINT "batch_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "batch_job_attempts" (
    "id" TEXT NOT NULL,
    "job_id" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "client_token" TEXT NOT NULL,
    "cluster_job_id" TEXT,
    "status" TEXT NOT NULL DEFAULT 'SUBMITTING',
    "error" JSONB,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "batch_job_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedules" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "cron" TEXT,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "every_ms" INTEGER,
    "run_at" TIMESTAMPTZ(3),
    "start_at" TIMESTAMPTZ(3),
    "end_at" TIMESTAMPTZ(3),
    "target" JSONB NOT NULL,
    "overlap" TEXT NOT NULL DEFAULT 'skip',
    "catch_up_policy" TEXT NOT NULL DEFAULT 'none',
    "catch_up_max_runs" INTEGER NOT NULL DEFAULT 10,
    "deadline_within_ms" INTEGER,
    "expected_duration_ms" INTEGER,
    "priority" INTEGER NOT NULL DEFAULT 5,
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "notify" JSONB,
    "next_run_at" TIMESTAMPTZ(3),
    "last_scheduled_for" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "schedules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "schedule_runs" (
    "id" TEXT NOT NULL,
    "schedule_id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "scheduled_for" TIMESTAMPTZ(3) NOT NULL,
    "fired_at" TIMESTAMPTZ(3) NOT NULL,
    "lag_ms" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "duration_ms" INTEGER,
    "deadline_at" TIMESTAMPTZ(3),
    "deadline_met" BOOLEAN,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "schedule_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inference_jobs" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "outcome" "Outcome",
    "priority" INTEGER NOT NULL DEFAULT 5,
    "notify" JSONB,
    "total" INTEGER NOT NULL,
    "queued" INTEGER NOT NULL,
    "running" INTEGER NOT NULL DEFAULT 0,
    "succeeded" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "schedule_run_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "inference_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inference_items" (
    "job_id" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "status" "WorkStatus" NOT NULL DEFAULT 'queued',
    "input_blob_id" TEXT,
    "output" JSONB,
    "error" JSONB,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "inference_items_pkey" PRIMARY KEY ("job_id","index")
);

-- CreateTable
CREATE TABLE "blobs" (
    "id" TEXT NOT NULL,
    "data" BYTEA NOT NULL,
    "size" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "blobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_subscriptions" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "events" TEXT[],
    "channel" TEXT NOT NULL,
    "url" TEXT,
    "secret" TEXT,
    "emails" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "notification_subscriptions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_events" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT,
    "type" TEXT NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "dedup_key" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "dispatched_at" TIMESTAMPTZ(3),

    CONSTRAINT "notification_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "notification_deliveries" (
    "id" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "tenant_id" TEXT,
    "channel" TEXT NOT NULL,
    "target" TEXT NOT NULL,
    "subscription_id" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status_code" INTEGER,
    "last_response" TEXT,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "notification_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dead_letters" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT,
    "kind" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "queue" TEXT NOT NULL,
    "job_name" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "error" JSONB NOT NULL,
    "attempts" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "replayed_at" TIMESTAMPTZ(3),

    CONSTRAINT "dead_letters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "alerts" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT,
    "kind" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "open_key" TEXT,
    "raised_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "alerts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workers" (
    "id" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "queues" TEXT[],
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_heartbeat_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workers_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");

-- CreateIndex
CREATE INDEX "api_keys_tenant_id_idx" ON "api_keys"("tenant_id");

-- CreateIndex
CREATE INDEX "idempotency_records_expires_at_idx" ON "idempotency_records"("expires_at");

-- CreateIndex
CREATE INDEX "tasks_status_id_idx" ON "tasks"("status", "id");

-- CreateIndex
CREATE INDEX "tasks_tenant_id_status_created_at_idx" ON "tasks"("tenant_id", "status", "created_at");

-- CreateIndex
CREATE INDEX "tasks_tenant_id_created_at_idx" ON "tasks"("tenant_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "tasks_tenant_id_dedupe_key_key" ON "tasks"("tenant_id", "dedupe_key");

-- CreateIndex
CREATE INDEX "task_logs_task_id_id_idx" ON "task_logs"("task_id", "id");

-- CreateIndex
CREATE INDEX "batches_tenant_id_status_created_at_idx" ON "batches"("tenant_id", "status", "created_at");

-- CreateIndex
CREATE INDEX "batches_status_created_at_idx" ON "batches"("status", "created_at");

-- CreateIndex
CREATE INDEX "batch_jobs_batch_id_status_index_idx" ON "batch_jobs"("batch_id", "status", "index");

-- CreateIndex
CREATE INDEX "batch_jobs_cluster_job_id_idx" ON "batch_jobs"("cluster_job_id");

-- CreateIndex
CREATE INDEX "batch_jobs_status_next_check_at_idx" ON "batch_jobs"("status", "next_check_at");

-- CreateIndex
CREATE UNIQUE INDEX "batch_jobs_batch_id_index_key" ON "batch_jobs"("batch_id", "index");

-- CreateIndex
CREATE UNIQUE INDEX "batch_job_attempts_client_token_key" ON "batch_job_attempts"("client_token");

-- CreateIndex
CREATE UNIQUE INDEX "batch_job_attempts_job_id_attempt_key" ON "batch_job_attempts"("job_id", "attempt");

-- CreateIndex
CREATE INDEX "schedules_tenant_id_created_at_idx" ON "schedules"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "schedules_paused_next_run_at_idx" ON "schedules"("paused", "next_run_at");

-- CreateIndex
CREATE INDEX "schedule_runs_status_deadline_at_idx" ON "schedule_runs"("status", "deadline_at");

-- CreateIndex
CREATE UNIQUE INDEX "schedule_runs_schedule_id_scheduled_for_key" ON "schedule_runs"("schedule_id", "scheduled_for");

-- CreateIndex
CREATE INDEX "inference_jobs_tenant_id_status_created_at_idx" ON "inference_jobs"("tenant_id", "status", "created_at");

-- CreateIndex
CREATE INDEX "inference_jobs_expires_at_idx" ON "inference_jobs"("expires_at");

-- CreateIndex
CREATE INDEX "inference_items_job_id_status_index_idx" ON "inference_items"("job_id", "status", "index");

-- CreateIndex
CREATE INDEX "blobs_expires_at_idx" ON "blobs"("expires_at");

-- CreateIndex
CREATE INDEX "notification_subscriptions_tenant_id_idx" ON "notification_subscriptions"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "notification_events_dedup_key_key" ON "notification_events"("dedup_key");

-- CreateIndex
CREATE INDEX "notification_events_dispatched_at_created_at_idx" ON "notification_events"("dispatched_at", "created_at");

-- CreateIndex
CREATE INDEX "notification_events_subject_id_idx" ON "notification_events"("subject_id");

-- CreateIndex
CREATE INDEX "notification_deliveries_status_next_attempt_at_idx" ON "notification_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "notification_deliveries_event_id_channel_target_key" ON "notification_deliveries"("event_id", "channel", "target");

-- CreateIndex
CREATE INDEX "dead_letters_kind_created_at_idx" ON "dead_letters"("kind", "created_at");

-- CreateIndex
CREATE INDEX "dead_letters_tenant_id_created_at_idx" ON "dead_letters"("tenant_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "dead_letters_kind_subject_id_attempts_key" ON "dead_letters"("kind", "subject_id", "attempts");

-- CreateIndex
CREATE UNIQUE INDEX "alerts_open_key_key" ON "alerts"("open_key");

-- CreateIndex
CREATE INDEX "alerts_resolved_at_raised_at_idx" ON "alerts"("resolved_at", "raised_at");

-- CreateIndex
CREATE INDEX "workers_last_heartbeat_at_idx" ON "workers"("last_heartbeat_at");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_logs" ADD CONSTRAINT "task_logs_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "batch_jobs" ADD CONSTRAINT "batch_jobs_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "batch_job_attempts" ADD CONSTRAINT "batch_job_attempts_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "batch_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "schedule_runs" ADD CONSTRAINT "schedule_runs_schedule_id_fkey" FOREIGN KEY ("schedule_id") REFERENCES "schedules"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "inference_items" ADD CONSTRAINT "inference_items_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "inference_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "notification_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
