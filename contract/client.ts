// A few uses of the types openapi-typescript generates from the OpenAPI document (build/api.d.ts, not
// committed): `tsc --noEmit` fails when an operation, schema or field used here disappears or changes type.
import type { components, operations, paths } from "./build/api";

type Schemas = components["schemas"];

export type Tutor = Schemas["PublicTutor"];
export type Booking = Schemas["Booking"];
export type Pagination = Schemas["PaginationMetadata"];

// Operation ids name the operations.
type SearchTutors = operations["searchTutors"];
export type SearchTutorsQuery = NonNullable<SearchTutors["parameters"]["query"]>;
export type SearchTutorsPage = SearchTutors["responses"][200]["content"]["application/json"];
export type SearchTutorsPagination = NonNullable<SearchTutors["responses"][200]["headers"]["X-Pagination"]>["application/json"];
export type CreateBookingBody = operations["createBooking"]["requestBody"]["content"]["application/json"];
export type UploadDocumentBody = operations["uploadMyDocument"]["requestBody"]["content"]["multipart/form-data"];
export type ApiError = Schemas["Error"];

export const firstPage: SearchTutorsQuery = { page: 1, page_size: 20 };

export function nextPage(header: SearchTutorsPagination): number | undefined {
  const metadata: Pagination = header;
  return metadata.next_page;
}

export function tutorNames(page: SearchTutorsPage): string[] {
  return page.map((tutor: Tutor) => tutor.full_name ?? "");
}

export function bookingStart(booking: Booking): string | undefined {
  return booking.start;
}

export const upload: UploadDocumentBody = { kind: "diploma", file: "<binary>" };

export function errorMessage(error: ApiError): string {
  return error.message ?? error.status ?? String(error.code);
}

export type MyBookingsPath = paths["/api/v1/bookings"]["get"];
