// The dead-letter sink of `on_error: dead_letter` components, for EngineOptions::dead_letter_sink:
// the engine asks for one per task and knows no sink by name. Used by the worker (and tests that
// run an Engine with dead letters).
#pragma once

#include <sleet/ids.hpp>
#include <sleet/status.hpp>
#include <sleet/topology.hpp>

#include "runtime/engine.hpp"

namespace sleet {

// A KafkaSink writing records (format: record) to the component's dead_letter_topic; the source
// topic written into dead letters is the topic of the KafkaSpout feeding the component, when
// exactly one does. Refuses (Invalid) a component without a dead_letter_topic. Pure.
[[nodiscard]] Result<DeadLetterSink> kafka_dead_letter_sink(const TopologySpec& topology,
                                                            const ComponentSpec& component,
                                                            TaskIndex task);

}  // namespace sleet
