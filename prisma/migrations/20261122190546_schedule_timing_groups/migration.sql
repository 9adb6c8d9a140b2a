-- AlterTable
ALTER TABLE "schedules" ADD COLUMN     "timing_group" TEXT;

-- CreateIndex
CREATE INDEX "schedules_timing_group_idx" ON "schedules"("timing_group");
