import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { validationFailed, type ErrorDetail } from '@baton/core';

export function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.replace(`${e.property} `, ''),
    }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** class-validator DTOs: unknown fields are refused, and every bad field is named in the 400's details. */
class BatonValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = metadata.type === 'body' && typeof metadata.metatype === 'function' && metadata.metatype !== Object;
    if (isDto && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw validationFailed([{ field: 'body', message: 'must be a JSON object' }]);
    }
    return super.transform(value, metadata);
  }
}

/** The class-validator options of every DTO, here and wherever a body is checked against a DTO by hand. */
export const DTO_VALIDATION = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

/** `value` as an instance of `dto`, with its problems as the pipe would name them (none: valid). */
function checkDto<T extends object>(dto: new () => T, value: unknown): { instance?: T; problems: ErrorDetail[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problems: [{ field: 'body', message: 'must be a JSON object' }] };
  }
  const instance = plainToInstance(dto, value);
  return { instance, problems: flatten(validateSync(instance, DTO_VALIDATION)) };
}

/** Problems of `value` as the body of `dto`, as the pipe would name them: a nested body checked like a top one. */
export const dtoProblems = (dto: new () => object, value: unknown): ErrorDetail[] => checkDto(dto, value).problems;

/** `value` as an instance of `dto`, checked as the pipe checks a body: 400 validation_failed naming every bad field. */
export function validBody<T extends object>(dto: new () => T, value: unknown): T {
  const { instance, problems } = checkDto(dto, value);
  if (!instance || problems.length > 0) throw validationFailed(problems);
  return instance;
}

export const batonValidationPipe = (): ValidationPipe =>
  new BatonValidationPipe({
    ...DTO_VALIDATION,
    transform: true,
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      return validationFailed(details.length > 0 ? details : [{ field: 'body', message: 'must be a JSON object' }]);
    },
  });
