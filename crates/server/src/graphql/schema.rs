//! The GraphQL types MLflow's server offers (the part of its schema its UI
//! and clients query), each field with the type it answers. A field's value
//! is read from the REST answer under the field's name in snake case
//! (`runUuid` from `run_uuid`); a few fields are resolved on their own
//! ([`From`]).

/// What a field answers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    /// Text (a number in the REST answer is written as text).
    Str,
    /// MLflow's `LongString`: an int64, written as text so that a browser
    /// keeps every digit.
    Long,
    /// A double; NaN and the infinities answer null, as MLflow's do.
    Float,
    /// true or false.
    Bool,
    /// An enum's name (`FINISHED`, `READY`).
    Enum,
    /// A list of text.
    StrList,
    /// An object of this type.
    Obj(&'static Object),
    /// A list of objects of this type.
    ObjList(&'static Object),
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    /// The REST answer's key: the field's name in snake case.
    Key,
    /// A run's experiment (`MlflowRunExtension.experiment`).
    RunExperiment,
    /// The registered versions made from a run
    /// (`MlflowRunExtension.modelVersions`).
    RunModelVersions,
    /// Always null: MLflow reports a failed field in `errors`, never here.
    ApiError,
}

/// A field of an object type.
#[derive(Debug)]
pub(crate) struct Field {
    /// Its GraphQL name (camel case).
    pub(crate) name: &'static str,
    pub(crate) ty: Ty,
    pub(crate) from: From,
}

/// An object type.
#[derive(Debug)]
pub(crate) struct Object {
    /// Its name, as `__typename` answers it.
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

impl Object {
    /// The field called `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

const fn f(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        from: From::Key,
    }
}

const fn api_error() -> Field {
    Field {
        name: "apiError",
        ty: Ty::Obj(&API_ERROR),
        from: From::ApiError,
    }
}

use Ty::*;

static API_ERROR: Object = Object {
    name: "ApiError",
    fields: &[
        f("code", Str),
        f("message", Str),
        f("helpUrl", Str),
        f("traceId", Str),
        f("errorDetails", ObjList(&ERROR_DETAIL)),
    ],
};
static ERROR_DETAIL: Object = Object {
    name: "ErrorDetail",
    fields: &[f("field", Str), f("message", Str)],
};
const KEY_VALUE_FIELDS: &[Field] = &[f("key", Str), f("value", Str)];
static EXPERIMENT_TAG: Object = Object {
    name: "MlflowExperimentTag",
    fields: KEY_VALUE_FIELDS,
};
static RUN_TAG: Object = Object {
    name: "MlflowRunTag",
    fields: KEY_VALUE_FIELDS,
};
static PARAM: Object = Object {
    name: "MlflowParam",
    fields: KEY_VALUE_FIELDS,
};
static INPUT_TAG: Object = Object {
    name: "MlflowInputTag",
    fields: KEY_VALUE_FIELDS,
};
static MODEL_VERSION_TAG: Object = Object {
    name: "MlflowModelVersionTag",
    fields: KEY_VALUE_FIELDS,
};

pub(crate) static EXPERIMENT: Object = Object {
    name: "MlflowExperiment",
    fields: &[
        f("experimentId", Str),
        f("name", Str),
        f("artifactLocation", Str),
        f("lifecycleStage", Str),
        f("lastUpdateTime", Long),
        f("creationTime", Long),
        f("tags", ObjList(&EXPERIMENT_TAG)),
        f("effectiveTraceArchivalRetention", Str),
        f("workspace", Str),
    ],
};

static METRIC: Object = Object {
    name: "MlflowMetricExtension",
    fields: &[
        f("key", Str),
        f("value", Float),
        f("timestamp", Long),
        f("step", Long),
        f("datasetName", Str),
        f("datasetDigest", Str),
        f("modelId", Str),
        f("runId", Str),
    ],
};
static RUN_INFO: Object = Object {
    name: "MlflowRunInfo",
    fields: &[
        f("runId", Str),
        f("runUuid", Str),
        f("runName", Str),
        f("experimentId", Str),
        f("userId", Str),
        f("status", Enum),
        f("startTime", Long),
        f("endTime", Long),
        f("artifactUri", Str),
        f("lifecycleStage", Str),
    ],
};
static RUN_DATA: Object = Object {
    name: "MlflowRunData",
    fields: &[
        f("metrics", ObjList(&METRIC)),
        f("params", ObjList(&PARAM)),
        f("tags", ObjList(&RUN_TAG)),
    ],
};
static DATASET: Object = Object {
    name: "MlflowDataset",
    fields: &[
        f("name", Str),
        f("digest", Str),
        f("sourceType", Str),
        f("source", Str),
        f("schema", Str),
        f("profile", Str),
    ],
};
static DATASET_INPUT: Object = Object {
    name: "MlflowDatasetInput",
    fields: &[f("tags", ObjList(&INPUT_TAG)), f("dataset", Obj(&DATASET))],
};
static MODEL_INPUT: Object = Object {
    name: "MlflowModelInput",
    fields: &[f("modelId", Str)],
};
static RUN_INPUTS: Object = Object {
    name: "MlflowRunInputs",
    fields: &[
        f("datasetInputs", ObjList(&DATASET_INPUT)),
        f("modelInputs", ObjList(&MODEL_INPUT)),
    ],
};
static MODEL_OUTPUT: Object = Object {
    name: "MlflowModelOutput",
    fields: &[f("modelId", Str), f("step", Long)],
};
static RUN_OUTPUTS: Object = Object {
    name: "MlflowRunOutputs",
    fields: &[f("modelOutputs", ObjList(&MODEL_OUTPUT))],
};
static RUN: Object = Object {
    name: "MlflowRunExtension",
    fields: &[
        f("info", Obj(&RUN_INFO)),
        f("data", Obj(&RUN_DATA)),
        f("inputs", Obj(&RUN_INPUTS)),
        f("outputs", Obj(&RUN_OUTPUTS)),
        Field {
            name: "experiment",
            ty: Obj(&EXPERIMENT),
            from: From::RunExperiment,
        },
        Field {
            name: "modelVersions",
            ty: ObjList(&MODEL_VERSION),
            from: From::RunModelVersions,
        },
    ],
};

static MODEL_PARAM: Object = Object {
    name: "MlflowModelParam",
    fields: &[f("name", Str), f("value", Str)],
};
static MODEL_METRIC: Object = Object {
    name: "MlflowModelMetric",
    fields: &[
        f("key", Str),
        f("value", Float),
        f("timestamp", Long),
        f("step", Long),
        f("datasetName", Str),
        f("datasetDigest", Str),
        f("modelId", Str),
        f("runId", Str),
    ],
};
static DEPLOYMENT_JOB_STATE: Object = Object {
    name: "MlflowModelVersionDeploymentJobState",
    fields: &[
        f("jobId", Str),
        f("runId", Str),
        f("jobState", Enum),
        f("runState", Enum),
        f("currentTaskName", Str),
    ],
};
pub(crate) static MODEL_VERSION: Object = Object {
    name: "MlflowModelVersion",
    fields: &[
        f("name", Str),
        f("version", Str),
        f("creationTimestamp", Long),
        f("lastUpdatedTimestamp", Long),
        f("userId", Str),
        f("currentStage", Str),
        f("description", Str),
        f("source", Str),
        f("runId", Str),
        f("status", Enum),
        f("statusMessage", Str),
        f("tags", ObjList(&MODEL_VERSION_TAG)),
        f("runLink", Str),
        f("aliases", StrList),
        f("modelId", Str),
        f("modelParams", ObjList(&MODEL_PARAM)),
        f("modelMetrics", ObjList(&MODEL_METRIC)),
        f("deploymentJobState", Obj(&DEPLOYMENT_JOB_STATE)),
    ],
};

static METRIC_WITH_RUN_ID: Object = Object {
    name: "MlflowMetricWithRunId",
    fields: &[
        f("key", Str),
        f("value", Float),
        f("timestamp", Long),
        f("step", Long),
        f("runId", Str),
    ],
};
static FILE_INFO: Object = Object {
    name: "MlflowFileInfo",
    fields: &[f("path", Str), f("isDir", Bool), f("fileSize", Long)],
};
static DATASET_SUMMARY: Object = Object {
    name: "MlflowDatasetSummary",
    fields: &[
        f("experimentId", Str),
        f("name", Str),
        f("digest", Str),
        f("context", Str),
    ],
};

pub(crate) static GET_EXPERIMENT: Object = Object {
    name: "MlflowGetExperimentResponse",
    fields: &[f("experiment", Obj(&EXPERIMENT)), api_error()],
};
pub(crate) static GET_RUN: Object = Object {
    name: "MlflowGetRunResponse",
    fields: &[f("run", Obj(&RUN)), api_error()],
};
pub(crate) static SEARCH_RUNS: Object = Object {
    name: "MlflowSearchRunsResponse",
    fields: &[
        f("runs", ObjList(&RUN)),
        f("nextPageToken", Str),
        api_error(),
    ],
};
pub(crate) static HISTORY_BULK_INTERVAL: Object = Object {
    name: "MlflowGetMetricHistoryBulkIntervalResponse",
    fields: &[f("metrics", ObjList(&METRIC_WITH_RUN_ID)), api_error()],
};
pub(crate) static LIST_ARTIFACTS: Object = Object {
    name: "MlflowListArtifactsResponse",
    fields: &[
        f("rootUri", Str),
        f("files", ObjList(&FILE_INFO)),
        f("nextPageToken", Str),
        api_error(),
    ],
};
pub(crate) static SEARCH_MODEL_VERSIONS: Object = Object {
    name: "MlflowSearchModelVersionsResponse",
    fields: &[
        f("modelVersions", ObjList(&MODEL_VERSION)),
        f("nextPageToken", Str),
        api_error(),
    ],
};
pub(crate) static SEARCH_DATASETS: Object = Object {
    name: "MlflowSearchDatasetsResponse",
    fields: &[
        f("datasetSummaries", ObjList(&DATASET_SUMMARY)),
        api_error(),
    ],
};
/// The echo of MLflow's `test` and `testMutation` fields.
pub(crate) static ECHO: Object = Object {
    name: "Test",
    fields: &[f("output", Str)],
};
pub(crate) static ECHO_MUTATION: Object = Object {
    name: "TestMutation",
    fields: &[f("output", Str)],
};

/// A field's name in snake case: the key of its REST answer.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_rest_keys() {
        assert_eq!(snake("runUuid"), "run_uuid");
        assert_eq!(
            snake("effectiveTraceArchivalRetention"),
            "effective_trace_archival_retention"
        );
        assert_eq!(snake("key"), "key");
        assert!(RUN.field("modelVersions").is_some());
        assert!(RUN.field("nope").is_none());
    }
}
