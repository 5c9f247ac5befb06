// Umbrella header: the whole public API of xiaoxiang.
#pragma once

#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/core/geo_point.hpp"
#include "xiaoxiang/core/id.hpp"
#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/core/time.hpp"
#include "xiaoxiang/geo/distance.hpp"
#include "xiaoxiang/geo/geohash.hpp"
#include "xiaoxiang/geo/polyline.hpp"
#include "xiaoxiang/order/event_json.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"
#include "xiaoxiang/storage/write_behind.hpp"
#include "xiaoxiang/sim/city_map.hpp"
#include "xiaoxiang/sim/simulation.hpp"
