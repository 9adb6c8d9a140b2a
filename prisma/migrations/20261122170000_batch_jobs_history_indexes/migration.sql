-- CreateIndex
CREATE INDEX "batch_jobs_status_id_idx" ON "batch_jobs"("status", "id");

-- CreateIndex
CREATE INDEX "batch_jobs_tenant_id_id_idx" ON "batch_jobs"("tenant_id", "id");
