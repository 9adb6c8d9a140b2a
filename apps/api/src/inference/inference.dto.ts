import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { WORK_STATUSES } from '@baton/core';
import { CountsDto } from '../batches/batches.dto';
import { PageQueryDto } from '../common/page-query.dto';

export class SubmitInferenceDto {
  @ApiProperty({ example: 'text-direction' }) model!: string;
  @ApiPropertyOptional({ description: "Pinned at submission; the model's default when absent" }) version?: string;
  @ApiPropertyOptional({
    description: 'One input: {"image": "<base64 PNG or JPEG>"} or {"tensor": {"dims", "data"}}; not with inputs',
  })
  input?: unknown;
  @ApiPropertyOptional({ description: '1 to 10,000 inputs; not with input', type: [Object] }) inputs?: unknown[];
  @ApiPropertyOptional({ minimum: 1, maximum: 10, default: 5 }) priority?: number;
  @ApiPropertyOptional({ description: '{ webhook?: {url, secret?}, email?: [addr] }' }) notify?: unknown;
}

class ModelRefDto {
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
}

export class InferenceJobDto {
  @ApiProperty({ example: 'inf_01J…' }) id!: string;
  @ApiProperty({ enum: WORK_STATUSES }) status!: string;
  @ApiPropertyOptional({ enum: ['all_succeeded', 'partial', 'all_failed', 'cancelled'] }) outcome?: string;
  @ApiProperty({ type: CountsDto }) counts!: CountsDto;
  @ApiProperty({ type: ModelRefDto }) model!: ModelRefDto;
  @ApiProperty() priority!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ format: 'date-time' }) startedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) finishedAt?: string;
  @ApiProperty({ format: 'date-time', description: 'Results are purged after this; reads then answer 410' })
  expiresAt!: string;
}

export class InferenceResultDto {
  @ApiProperty() index!: number;
  @ApiProperty({ enum: WORK_STATUSES }) status!: string;
  @ApiPropertyOptional({ description: '{label, score, scores?} or {tensor: {dims, data}}' }) output?: unknown;
  @ApiPropertyOptional({ description: '{code, message, retryable}' }) error?: unknown;
}

export class ModelDto {
  @ApiProperty() name!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ type: [String] }) versions!: string[];
  @ApiProperty() defaultVersion!: string;
  @ApiProperty({ description: 'What an input item looks like' }) input!: unknown;
  @ApiProperty({ description: 'What an output looks like' }) output!: unknown;
}

export class ResultsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ['succeeded', 'failed'] })
  @IsOptional()
  @IsString()
  @IsIn(['succeeded', 'failed'])
  status?: 'succeeded' | 'failed';
}
