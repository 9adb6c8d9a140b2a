import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';

/** `limit` and `cursor` of every list endpoint (API.md Pagination); values are checked by parseLimit/decodeCursor. */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @IsString()
  limit?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  cursor?: string;
}

/** A page of an operator list, optionally narrowed to one tenant. */
export class TenantPageQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'tenant id (ten_…)' })
  @IsOptional()
  @Matches(/^ten_[0-9a-z]{26}$/, { message: 'tenant must be a tenant id (ten_…)' })
  tenant?: string;
}
