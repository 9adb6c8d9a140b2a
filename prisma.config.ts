// Prisma CLI configuration (Prisma 7). The URL is only read by CLI commands such as `prisma migrate deploy`;
// Baton itself applies migrations offline with libs/db's migrator (see README).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/baton' },
});
