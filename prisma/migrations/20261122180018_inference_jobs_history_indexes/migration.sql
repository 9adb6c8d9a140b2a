-- CreateIndex
CREATE INDEX "inference_jobs_status_id_idx" ON "inference_jobs"("status", "id");

-- CreateIndex
CREATE INDEX "inference_jobs_tenant_id_id_idx" ON "inference_jobs"("tenant_id", "id");
