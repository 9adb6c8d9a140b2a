import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length } from 'class-validator';
import { ROLES, type Role } from '@baton/core';

export class CreateTenantDto {
  @ApiProperty({ maxLength: 200, example: 'acme' })
  @IsString()
  @Length(1, 200)
  name!: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  name?: string;
}

export class TenantDto {
  @ApiProperty({ example: 'ten_01jd…' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ApiKeyCreatedDto {
  @ApiProperty({ example: 'key_01jd…' }) id!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiPropertyOptional() name?: string | null;
  @ApiProperty({ description: 'Shown this once; only its digest is stored' }) secret!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}
