#include "xiaoxiang/core/error.hpp"

#include <string>

namespace xiaoxiang {
namespace {

struct code_text {
  errc code;
  const char* name;
  const char* message;
};

// One row per code: the stable name and the message that names the field.
constexpr code_text kCodes[] = {
    {errc::ok, "ok", "ok"},
    {errc::empty_id, "empty_id", "id is empty"},
    {errc::id_too_long, "id_too_long", "id is longer than 32 characters"},
    {errc::invalid_id_character, "invalid_id_character",
     "id has a character outside [A-Za-z0-9_.:-]"},
    {errc::invalid_longitude, "invalid_longitude",
     "longitude is NaN, infinite or outside [-180, 180]"},
    {errc::invalid_latitude, "invalid_latitude", "latitude is NaN, infinite or outside [-90, 90]"},
    {errc::invalid_timestamp, "invalid_timestamp",
     "timestamp is not milliseconds since 1970 (negative or beyond year 2500)"},
    {errc::invalid_precision, "invalid_precision", "GeoHash precision is outside 1..12"},
    {errc::invalid_geohash_character, "invalid_geohash_character",
     "GeoHash has a character outside its base-32 alphabet (0-9, b-z without i, l, o)"},
    {errc::empty_geohash, "empty_geohash", "GeoHash is empty"},
    {errc::geohash_too_long, "geohash_too_long", "GeoHash is longer than 12 characters"},
    {errc::invalid_geohash_bits, "invalid_geohash_bits",
     "integer GeoHash has a bit count outside 1..60 or bits beyond its count"},
    {errc::invalid_radius, "invalid_radius", "radius is NaN, negative or larger than allowed"},
    {errc::invalid_polyline, "invalid_polyline",
     "polyline needs at least 2 valid points"},
    {errc::invalid_k, "invalid_k", "k (number of results) must be at least 1"},
    {errc::unknown_rider, "unknown_rider", "rider is not known"},
    {errc::invalid_status, "invalid_status", "status is outside 1..5"},
    {errc::illegal_transition, "illegal_transition",
     "status transition is not allowed by the order state machine"},
    {errc::order_terminal, "order_terminal", "order is Completed or Cancelled already"},
    {errc::unknown_order, "unknown_order", "order is not known"},
    {errc::order_exists, "order_exists", "order with this id exists already"},
    {errc::invalid_operator_type, "invalid_operator_type",
     "operator type is outside 1 (rider) .. 2 (warehouse)"},
    {errc::invalid_amount, "invalid_amount",
     "amount is negative, not a number or above 99999999.99"},
    {errc::invalid_picking_stage, "invalid_picking_stage",
     "picking stage is outside 1..5 or the order is not Paid"},
    {errc::stale_version, "stale_version", "version is older than the order's current version"},
    {errc::duplicate_event, "duplicate_event", "event id was applied already"},
    {errc::rider_not_assigned, "rider_not_assigned", "rider is not assigned to this order"},
    {errc::invalid_event, "invalid_event", "event kind is unknown or its payload is empty"},
    {errc::invalid_address, "invalid_address", "address is longer than 255 bytes"},
    {errc::position_null_island, "position_null_island",
     "position is (0, 0): the device had no fix"},
    {errc::position_in_future, "position_in_future",
     "position time is in the future beyond the allowed clock skew"},
    {errc::position_too_old, "position_too_old", "position time is older than the allowed age"},
    {errc::position_too_fast, "position_too_fast",
     "position implies a speed above the allowed maximum"},
    {errc::position_duplicate_fix, "position_duplicate_fix",
     "position repeats a fix already applied (same time and place)"},
    {errc::position_stale, "position_stale",
     "position is older than the live position (kept in the trajectory only)"},
    {errc::queue_full, "queue_full", "write-behind queue is full"},
    {errc::storage_closed, "storage_closed", "storage is closed"},
    {errc::storage_io, "storage_io", "storage reported an I/O or database error"},
    {errc::not_found, "not_found", "no such record"},
    {errc::unsupported_schema_version, "unsupported_schema_version",
     "schema version (PRAGMA user_version) is newer than this library supports"},
    {errc::malformed_json, "malformed_json", "input is not valid JSON"},
    {errc::missing_field, "missing_field", "required field is missing"},
    {errc::wrong_type, "wrong_type", "field has the wrong type"},
    {errc::unknown_event_type, "unknown_event_type", "event type is not known"},
    {errc::invalid_field, "invalid_field", "field value is outside its domain"},
    {errc::truncated, "truncated", "message is shorter than its header says"},
    {errc::unsupported_format_version, "unsupported_format_version",
     "message has an unsupported format version"},
    {errc::trailing_bytes, "trailing_bytes", "message has bytes after its end"},
    {errc::too_large, "too_large", "input is larger than the configured limit"},
    {errc::eta_invalid_option, "eta_invalid_option", "ETA model option is outside its range"},
    {errc::eta_too_few_fixes, "eta_too_few_fixes", "trip has fewer than 2 fixes"},
    {errc::eta_unordered_fixes, "eta_unordered_fixes", "trip's fixes are not in time order"},
    {errc::eta_invalid_trip_time, "eta_invalid_trip_time",
     "trip times are out of order (delivered before assigned, or paid after assigned)"},
    {errc::size_mismatch, "size_mismatch", "parallel arrays (times, points) differ in length"},
    {errc::times_not_increasing, "times_not_increasing", "times are not strictly increasing"},
    {errc::invalid_detector_option, "invalid_detector_option",
     "detector option is NaN, negative or out of range"},
    {errc::stomp_unknown_command, "stomp_unknown_command",
     "STOMP command is not known"},
    {errc::stomp_invalid_header, "stomp_invalid_header",
     "STOMP header line has no ':', an empty name or a bare CR"},
    {errc::stomp_invalid_escape, "stomp_invalid_escape",
     "STOMP header has an undefined escape sequence"},
    {errc::stomp_invalid_content_length, "stomp_invalid_content_length",
     "STOMP content-length is not a decimal byte count"},
    {errc::stomp_missing_null, "stomp_missing_null",
     "STOMP body is not followed by NUL (content-length too small?)"},
    {errc::stomp_body_not_allowed, "stomp_body_not_allowed",
     "STOMP frame of this command must not have a body"},
    {errc::stomp_frame_too_large, "stomp_frame_too_large",
     "STOMP frame is larger than the limit"},
    {errc::stomp_too_many_headers, "stomp_too_many_headers",
     "STOMP frame has more headers than the limit"},
    {errc::stomp_header_line_too_long, "stomp_header_line_too_long",
     "STOMP command or header line is longer than the limit"},
    {errc::stomp_body_too_large, "stomp_body_too_large",
     "STOMP body is larger than the limit"},
    {errc::stomp_not_connected, "stomp_not_connected",
     "STOMP frame before CONNECT"},
    {errc::stomp_already_connected, "stomp_already_connected",
     "STOMP session is connected already"},
    {errc::stomp_unsupported_version, "stomp_unsupported_version",
     "no common STOMP version (the version header lists the server's)"},
    {errc::stomp_missing_header, "stomp_missing_header",
     "STOMP header is required"},
    {errc::stomp_invalid_header_value, "stomp_invalid_header_value",
     "STOMP header value is invalid"},
    {errc::stomp_unexpected_command, "stomp_unexpected_command",
     "STOMP command is one a server sends, not a client"},
    {errc::stomp_unknown_destination, "stomp_unknown_destination",
     "STOMP destination is not served here"},
    {errc::stomp_too_many_subscriptions, "stomp_too_many_subscriptions",
     "too many STOMP subscriptions on this connection"},
    {errc::stomp_duplicate_subscription, "stomp_duplicate_subscription",
     "STOMP subscription id is in use on this connection"},
    {errc::stomp_unknown_subscription, "stomp_unknown_subscription",
     "STOMP subscription id is not subscribed"},
    {errc::stomp_send_not_accepted, "stomp_send_not_accepted",
     "STOMP SEND is not accepted by this server (no tracker)"},
    {errc::stomp_unknown_transaction, "stomp_unknown_transaction",
     "STOMP transaction is not begun, or begun already"},
    {errc::stomp_heartbeat_timeout, "stomp_heartbeat_timeout",
     "STOMP peer silent beyond the negotiated heart-beat"},
    {errc::stomp_connect_timeout, "stomp_connect_timeout",
     "no STOMP CONNECT within the allowed time"},
    {errc::jwt_malformed, "jwt_malformed", "token is not three base64url parts separated by '.'"},
    {errc::jwt_bad_base64, "jwt_bad_base64", "token part is not strict base64url"},
    {errc::jwt_bad_json, "jwt_bad_json", "token header or claims are not a JSON object"},
    {errc::jwt_alg_none, "jwt_alg_none", "token alg is none (unsigned tokens are refused)"},
    {errc::jwt_alg_not_allowed, "jwt_alg_not_allowed",
     "token alg is unknown or not the algorithm its key is bound to"},
    {errc::jwt_unknown_kid, "jwt_unknown_kid", "token kid names no configured key"},
    {errc::jwt_bad_signature, "jwt_bad_signature", "token signature does not verify"},
    {errc::jwt_expired, "jwt_expired", "token has expired (exp)"},
    {errc::jwt_not_yet_valid, "jwt_not_yet_valid", "token is not valid yet (nbf)"},
    {errc::jwt_wrong_issuer, "jwt_wrong_issuer", "token issuer (iss) is not the configured one"},
    {errc::jwt_wrong_audience, "jwt_wrong_audience",
     "token audience (aud) does not contain the configured one"},
    {errc::jwt_too_large, "jwt_too_large", "token is longer than the configured maximum"},
    {errc::jwt_wrong_claim_type, "jwt_wrong_claim_type", "token claim has the wrong JSON type"},
    {errc::jwt_missing_claim, "jwt_missing_claim", "token lacks a required claim"},
    {errc::jwt_invalid_key, "jwt_invalid_key", "key cannot be used (unreadable PEM, short secret or wrong type)"},
    {errc::auth_required, "auth_required", "authentication required (Authorization: Bearer <token>)"},
    {errc::invalid_role, "invalid_role", "role is not customer, rider, warehouse or admin"},
    {errc::access_denied, "access_denied", "access denied"},
    {errc::too_many_token_connections, "too_many_token_connections",
     "too many connections with this token"},
    {errc::location_key_missing, "location_key_missing",
     "location column is encrypted and no key is configured"},
    {errc::location_unknown_key, "location_unknown_key", "location ciphertext names an unknown key id"},
    {errc::location_auth_failed, "location_auth_failed",
     "location ciphertext does not verify (wrong key, tampered or moved row)"},
    {errc::location_malformed, "location_malformed", "location ciphertext envelope is malformed"},
    {errc::location_invalid_key, "location_invalid_key",
     "location key cannot be used (id, 64 hex digits, duplicate)"},
    {errc::redis_io, "redis_io", "Redis is unreachable, the connection was lost or timed out"},
    {errc::redis_reply, "redis_reply", "Redis answered an error or an unexpected reply"},
};

const code_text* find(errc e) noexcept {
  for (const auto& row : kCodes)
    if (row.code == e) return &row;
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "xiaoxiang"; }
  std::string message(int value) const override {
    const code_text* row = find(static_cast<errc>(value));
    return row ? row->message : "unknown xiaoxiang error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

const char* errc_name(errc e) noexcept {
  const code_text* row = find(e);
  return row ? row->name : "unknown";
}

std::string describe(std::error_code code, const char* field) {
  std::string text = code.message();
  if (field != nullptr && *field != '\0') return std::string(field) + ": " + text;
  return text;
}

error::error(std::error_code code, const std::string& context)
    : std::runtime_error(context + ": " + code.message()), code_(code) {}

}  // namespace xiaoxiang
