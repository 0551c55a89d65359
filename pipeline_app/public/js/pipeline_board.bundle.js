// Entry of the Pipeline Board page (pipeline_app/pipeline_app/page/pipeline_board/).
import { PipelineBoard } from "./pipeline_board/board";

frappe.provide("pipeline_app");
pipeline_app.PipelineBoard = PipelineBoard;
