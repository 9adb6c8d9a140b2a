-- AlterTable
ALTER TABLE "tasks" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 0;
