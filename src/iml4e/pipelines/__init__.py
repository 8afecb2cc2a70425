"""The pipelines room: process data and train models, recording every run and step."""

from iml4e.pipelines.runs import PipelineRecorder

__all__ = ["PipelineRecorder"]
