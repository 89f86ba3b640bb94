// runlog's dashboard: experiments, the runs of one or more experiments
// with their charts, one run, and models. Hand-written ES modules, no
// framework, served as they are; charts by uPlot (embedded by the build).
// Every view's state lives in the URL's fragment, so a view is shared as a
// link. Data comes from MLflow's REST API as `runlog server` serves it and
// from runlog's own endpoints under /ajax-api/2.0/runlog/.
//
// The modules, each importing only those before it:
//   numbers.js  numbers, times and chart axes
//   api.js      the server's JSON API
//   dom.js      elements, errors, the status line
//   entities.js what views read from runs
//   router.js   the URL's fragment to a view
//   charts.js   the charts of the ticked runs
//   runs-table.js, edit.js: the runs table; editing in place
//   experiments.js, runs.js, compare.js, run.js, models.js: the views
import { compareView } from "./compare.js";
import { experimentsView } from "./experiments.js";
import { modelView, modelsView, registeredView } from "./models.js";
import { runView } from "./run.js";
import { runsView } from "./runs.js";
import { startRouter } from "./router.js";

startRouter({
  "": experimentsView,
  "experiments": experimentsView,
  "runs": runsView,
  "run/": runView,
  "compare": compareView,
  "models": modelsView,
  "model/": modelView,
  "registered/": registeredView,
});
