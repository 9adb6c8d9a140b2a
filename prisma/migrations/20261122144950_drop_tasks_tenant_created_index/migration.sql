-- DropIndex
DROP INDEX "tasks_tenant_id_created_at_idx";
