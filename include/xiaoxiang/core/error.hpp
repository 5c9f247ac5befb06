// Error codes of xiaoxiang: expected rejections are values (errc in a
// std::error_code), failures of the environment throw xiaoxiang::error.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace xiaoxiang {

// One enum for the whole library, a range of codes per area. The codes are
// stable: hosts log and count them, tests assert them. Each message names the
// field (or the rule) that was violated.
enum class errc : int {
  ok = 0,

  // core 100..199: ids, points, timestamps
  empty_id = 100,             // an id is empty
  id_too_long = 101,          // an id is longer than 32 characters
  invalid_id_character = 102, // an id has a character outside [A-Za-z0-9_.:-]
  invalid_longitude = 110,    // NaN, infinite or outside [-180, 180]
  invalid_latitude = 111,     // NaN, infinite or outside [-90, 90]
  invalid_timestamp = 120,    // negative or absurd milliseconds since epoch

  // geo 200..299
  invalid_precision = 200,        // GeoHash precision outside 1..12
  invalid_geohash_character = 201,// a character outside the GeoHash alphabet
  empty_geohash = 202,            // a GeoHash string is empty
  geohash_too_long = 203,         // a GeoHash string has more than 12 characters
  invalid_geohash_bits = 204,     // integer GeoHash: bit count outside 1..60 or stray bits
  invalid_radius = 210,           // radius NaN, negative or too large
  invalid_polyline = 220,         // polyline with fewer than 2 points or a bad point
  invalid_k = 230,                // k of a nearest query is 0
  unknown_rider = 240,            // the rider is not in the index / not known

  // order 300..399: the state machine and records
  invalid_status = 300,          // status code outside 1..5
  illegal_transition = 301,      // the state machine does not allow from -> to
  order_terminal = 302,          // the order is Completed or Cancelled already
  unknown_order = 303,           // no such order
  order_exists = 304,            // an order with this id was created already
  invalid_operator_type = 305,   // operator type outside 1..2
  invalid_amount = 306,          // total amount negative or not a number
  invalid_picking_stage = 307,   // picking stage outside 1..5 or not while Paid
  stale_version = 308,           // the change is based on an older version
  duplicate_event = 309,         // the event id was applied already (at-least-once)
  rider_not_assigned = 310,      // the rider is not delivering this order
  invalid_event = 311,           // the event kind is unknown or its payload empty
  invalid_address = 312,         // address longer than 255 bytes

  // position filters 400..499 (Traccar-style), each with its own counter
  position_null_island = 400,    // (0, 0): a device with no fix
  position_in_future = 401,      // device time beyond now + allowed skew
  position_too_old = 402,        // device time older than the allowed age
  position_too_fast = 403,       // implied speed above the maximum
  position_duplicate_fix = 404,  // same rider, same time and place as a fix already applied
  position_stale = 405,          // older than the live position: kept in the trajectory only

  // storage 500..599
  queue_full = 500,              // the write-behind queue is full (back-pressure)
  storage_closed = 501,          // the storage was closed
  storage_io = 502,              // the database reported an error
  not_found = 503,               // no such record
  unsupported_schema_version = 504, // the database's schema version is newer than this library's

  // codecs 600..699: decoding outside bytes
  malformed_json = 600,          // the text is not JSON
  missing_field = 601,           // a required field is absent
  wrong_type = 602,              // a field has the wrong JSON type
  unknown_event_type = 603,      // the "type" of an event is not known
  invalid_field = 604,           // a field's value is out of its domain
  truncated = 605,               // binary message shorter than its header says
  unsupported_format_version = 606, // binary message of an unknown format version
  trailing_bytes = 607,          // bytes after the end of a binary message
  too_large = 608,               // input larger than the configured limit

  // eta 760..769: trips to learn from and the ETA model's options
  eta_invalid_option = 760,      // an eta_model_options value is out of its range
  eta_too_few_fixes = 761,       // a trip to learn from has fewer than 2 fixes
  eta_unordered_fixes = 762,     // a trip's fixes are not in time order
  eta_invalid_trip_time = 763,   // delivered before assigned, or paid after assigned

  // anomaly 800..899: detector inputs and options
  size_mismatch = 800,           // parallel arrays (times, points) differ in length
  times_not_increasing = 801,    // times not strictly increasing where required
  invalid_detector_option = 802, // a detector option is NaN, negative or out of range

  // stomp 700..749: STOMP 1.2 frames (700..719) and sessions (720..749)
  stomp_unknown_command = 700,        // the command line is not a STOMP command
  stomp_invalid_header = 701,         // header line without ':', empty name, or a bare CR
  stomp_invalid_escape = 702,         // undefined escape in a header (1.2: only \r \n \c \\)
  stomp_invalid_content_length = 703, // content-length is not a decimal byte count
  stomp_missing_null = 704,           // the body of content-length bytes is not followed by NUL
  stomp_body_not_allowed = 705,       // a body on a frame whose command has none
  stomp_frame_too_large = 706,        // frame above the limit max_frame_bytes
  stomp_too_many_headers = 707,       // more headers than max_headers
  stomp_header_line_too_long = 708,   // a command or header line above max_header_line_bytes
  stomp_body_too_large = 709,         // body above max_body_bytes
  stomp_not_connected = 720,          // a frame before CONNECT
  stomp_already_connected = 721,      // a second CONNECT
  stomp_unsupported_version = 722,    // no common protocol version (accept-version)
  stomp_missing_header = 723,         // a required header is absent
  stomp_invalid_header_value = 724,   // a header's value is outside its domain
  stomp_unexpected_command = 725,     // a server command (MESSAGE, ...) from a client
  stomp_unknown_destination = 726,    // SUBSCRIBE/SEND destination is not served
  stomp_too_many_subscriptions = 727, // subscriptions above max_subscriptions
  stomp_duplicate_subscription = 728, // SUBSCRIBE with an id in use on the connection
  stomp_unknown_subscription = 729,   // UNSUBSCRIBE of an id not subscribed
  stomp_send_not_accepted = 730,      // SEND to /app/tracking on a server without a tracker
  stomp_unknown_transaction = 731,    // COMMIT/ABORT/SEND of a transaction not begun (or begun twice)
  stomp_heartbeat_timeout = 732,      // the peer was silent beyond the negotiated heart-beat
  stomp_connect_timeout = 733,        // no CONNECT within the allowed time

  // security 850..879: tokens (JWT), keys, access control
  jwt_malformed = 850,            // not three base64url parts separated by '.', or empty
  jwt_bad_base64 = 851,           // a part is not strict base64url (no padding, no stray bits)
  jwt_bad_json = 852,             // the header or the claims are not a JSON object
  jwt_alg_none = 853,             // "alg":"none" (unsigned tokens are never accepted)
  jwt_alg_not_allowed = 854,      // the alg is unknown or not the one the key is bound to
  jwt_unknown_kid = 855,          // no key with the token's kid (or no kid and several keys)
  jwt_bad_signature = 856,        // the signature does not verify
  jwt_expired = 857,              // exp (plus leeway) is in the past
  jwt_not_yet_valid = 858,        // nbf (minus leeway) is in the future
  jwt_wrong_issuer = 859,         // iss differs from the configured issuer
  jwt_wrong_audience = 860,       // aud does not contain the configured audience
  jwt_too_large = 861,            // the token is longer than max_token_bytes
  jwt_wrong_claim_type = 862,     // a claim has the wrong JSON type (exp not a number, ...)
  jwt_missing_claim = 863,        // a required claim is absent (sub, role, exp, rider_id ...)
  jwt_invalid_key = 864,          // a key (PEM, secret) cannot be used: unreadable, too short, wrong type
  auth_required = 865,            // no token where the server requires one
  invalid_role = 866,             // the role claim is not customer, rider, warehouse or admin
  access_denied = 867,            // the principal may not read / send this (same for "no such order")
  too_many_token_connections = 868, // connections with one token above the configured cap

  // encryption at rest 880..889: the location columns of the SQLite storage
  location_key_missing = 880,     // an encrypted column was read without a key configured
  location_unknown_key = 881,     // the ciphertext names a key id the key ring does not hold
  location_auth_failed = 882,     // the ciphertext does not verify: wrong key, tampered or moved row
  location_malformed = 883,       // the ciphertext envelope is not one this library writes
  location_invalid_key = 884,     // a key (file line) cannot be used: bad id, not 64 hex digits, duplicate

  // redis 900..919: the Redis adapters (queue/, cache/)
  redis_io = 900,                // Redis unreachable, connection lost or timed out
  redis_reply = 901,             // Redis answered an error or a reply of an unexpected shape
};

// The category behind std::error_code for errc; name() is "xiaoxiang".
const std::error_category& error_category() noexcept;

std::error_code make_error_code(errc e) noexcept;

// A short stable name of the code ("invalid_latitude"), for metrics labels
// and Python; "unknown" for values outside the enum.
const char* errc_name(errc e) noexcept;

// The message of the code, naming the field; with field != nullptr the field
// is prefixed: "orderId: an id is longer than 32 characters".
std::string describe(std::error_code code, const char* field = nullptr);

// A failure of the environment (cannot open the database, disk full, a bug
// in a host's callback): thrown, carrying the code and what was being done.
class error : public std::runtime_error {
 public:
  error(std::error_code code, const std::string& context);
  const std::error_code& code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

}  // namespace xiaoxiang

template <>
struct std::is_error_code_enum<xiaoxiang::errc> : std::true_type {};
