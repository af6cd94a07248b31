#include "core/analysis/stats.h"

#include <algorithm>

namespace memhound::analysis {

double captureDuration(const format::Header& header, const std::optional<format::Trailer>& trailer,
                       const std::vector<format::Sample>& samples) {
    std::int64_t end = header.startTimeNs;
    if (trailer) {
        end = trailer->endTimeNs;
    } else if (!samples.empty()) {
        end = samples.back().timeNs;
    }
    return std::max(static_cast<double>(end - header.startTimeNs) / 1e9, 0.0);
}

}  // namespace memhound::analysis
