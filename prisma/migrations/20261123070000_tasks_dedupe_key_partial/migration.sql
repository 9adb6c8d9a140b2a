-- Partial: only tasks with a dedupe key are looked up by it (and only they can collide). Most tasks have none, and
-- each of them cost this index an entry at its insert and another at every status change (a status change cannot be
-- a HOT update: status is indexed). Same name and columns, so the schema's @@unique still describes it.
DROP INDEX "tasks_tenant_id_dedupe_key_key";
CREATE UNIQUE INDEX "tasks_tenant_id_dedupe_key_key" ON "tasks"("tenant_id", "dedupe_key") WHERE "dedupe_key" IS NOT NULL;
