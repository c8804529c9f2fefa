// CRC-32C (Castagnoli), the checksum of snapshot blobs. Uses the SSE4.2 crc32 instruction when the
// CPU has it (~10 GB/s) and a table otherwise; both give the same value. Thread-safe, no state.
#pragma once

#include <cstdint>
#include <string_view>

namespace sleet {

// crc32c("123456789") == 0xE3069283. `crc` continues a previous result (0 to start).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace sleet
