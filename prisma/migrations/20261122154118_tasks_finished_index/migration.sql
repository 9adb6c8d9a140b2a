-- CreateIndex
CREATE INDEX "tasks_status_finished_at_idx" ON "tasks"("status", "finished_at");
