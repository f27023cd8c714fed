// Original file: proto/meshrun.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AddUserReply as _meshrun_v1_AddUserReply, AddUserReply__Output as _meshrun_v1_AddUserReply__Output } from '../../meshrun/v1/AddUserReply.js';
import type { AddUserRequest as _meshrun_v1_AddUserRequest, AddUserRequest__Output as _meshrun_v1_AddUserRequest__Output } from '../../meshrun/v1/AddUserRequest.js';
import type { ArtifactChunk as _meshrun_v1_ArtifactChunk, ArtifactChunk__Output as _meshrun_v1_ArtifactChunk__Output } from '../../meshrun/v1/ArtifactChunk.js';
import type { AuditList as _meshrun_v1_AuditList, AuditList__Output as _meshrun_v1_AuditList__Output } from '../../meshrun/v1/AuditList.js';
import type { AuditRequest as _meshrun_v1_AuditRequest, AuditRequest__Output as _meshrun_v1_AuditRequest__Output } from '../../meshrun/v1/AuditRequest.js';
import type { BlobChunk as _meshrun_v1_BlobChunk, BlobChunk__Output as _meshrun_v1_BlobChunk__Output } from '../../meshrun/v1/BlobChunk.js';
import type { BlobRef as _meshrun_v1_BlobRef, BlobRef__Output as _meshrun_v1_BlobRef__Output } from '../../meshrun/v1/BlobRef.js';
import type { CreateScheduleRequest as _meshrun_v1_CreateScheduleRequest, CreateScheduleRequest__Output as _meshrun_v1_CreateScheduleRequest__Output } from '../../meshrun/v1/CreateScheduleRequest.js';
import type { Identity as _meshrun_v1_Identity, Identity__Output as _meshrun_v1_Identity__Output } from '../../meshrun/v1/Identity.js';
import type { Job as _meshrun_v1_Job, Job__Output as _meshrun_v1_Job__Output } from '../../meshrun/v1/Job.js';
import type { JobList as _meshrun_v1_JobList, JobList__Output as _meshrun_v1_JobList__Output } from '../../meshrun/v1/JobList.js';
import type { JobRef as _meshrun_v1_JobRef, JobRef__Output as _meshrun_v1_JobRef__Output } from '../../meshrun/v1/JobRef.js';
import type { JoinReply as _meshrun_v1_JoinReply, JoinReply__Output as _meshrun_v1_JoinReply__Output } from '../../meshrun/v1/JoinReply.js';
import type { JoinRequest as _meshrun_v1_JoinRequest, JoinRequest__Output as _meshrun_v1_JoinRequest__Output } from '../../meshrun/v1/JoinRequest.js';
import type { JoinTokenReply as _meshrun_v1_JoinTokenReply, JoinTokenReply__Output as _meshrun_v1_JoinTokenReply__Output } from '../../meshrun/v1/JoinTokenReply.js';
import type { JoinTokenRequest as _meshrun_v1_JoinTokenRequest, JoinTokenRequest__Output as _meshrun_v1_JoinTokenRequest__Output } from '../../meshrun/v1/JoinTokenRequest.js';
import type { ListJobsRequest as _meshrun_v1_ListJobsRequest, ListJobsRequest__Output as _meshrun_v1_ListJobsRequest__Output } from '../../meshrun/v1/ListJobsRequest.js';
import type { ListNodesRequest as _meshrun_v1_ListNodesRequest, ListNodesRequest__Output as _meshrun_v1_ListNodesRequest__Output } from '../../meshrun/v1/ListNodesRequest.js';
import type { ListSchedulesRequest as _meshrun_v1_ListSchedulesRequest, ListSchedulesRequest__Output as _meshrun_v1_ListSchedulesRequest__Output } from '../../meshrun/v1/ListSchedulesRequest.js';
import type { ListUsersRequest as _meshrun_v1_ListUsersRequest, ListUsersRequest__Output as _meshrun_v1_ListUsersRequest__Output } from '../../meshrun/v1/ListUsersRequest.js';
import type { LogEvent as _meshrun_v1_LogEvent, LogEvent__Output as _meshrun_v1_LogEvent__Output } from '../../meshrun/v1/LogEvent.js';
import type { LogsRequest as _meshrun_v1_LogsRequest, LogsRequest__Output as _meshrun_v1_LogsRequest__Output } from '../../meshrun/v1/LogsRequest.js';
import type { MeshJoinReply as _meshrun_v1_MeshJoinReply, MeshJoinReply__Output as _meshrun_v1_MeshJoinReply__Output } from '../../meshrun/v1/MeshJoinReply.js';
import type { MeshJoinRequest as _meshrun_v1_MeshJoinRequest, MeshJoinRequest__Output as _meshrun_v1_MeshJoinRequest__Output } from '../../meshrun/v1/MeshJoinRequest.js';
import type { MeshLeaveReply as _meshrun_v1_MeshLeaveReply, MeshLeaveReply__Output as _meshrun_v1_MeshLeaveReply__Output } from '../../meshrun/v1/MeshLeaveReply.js';
import type { MeshLeaveRequest as _meshrun_v1_MeshLeaveRequest, MeshLeaveRequest__Output as _meshrun_v1_MeshLeaveRequest__Output } from '../../meshrun/v1/MeshLeaveRequest.js';
import type { MeshRotateReply as _meshrun_v1_MeshRotateReply, MeshRotateReply__Output as _meshrun_v1_MeshRotateReply__Output } from '../../meshrun/v1/MeshRotateReply.js';
import type { MeshStatusReply as _meshrun_v1_MeshStatusReply, MeshStatusReply__Output as _meshrun_v1_MeshStatusReply__Output } from '../../meshrun/v1/MeshStatusReply.js';
import type { MeshStatusRequest as _meshrun_v1_MeshStatusRequest, MeshStatusRequest__Output as _meshrun_v1_MeshStatusRequest__Output } from '../../meshrun/v1/MeshStatusRequest.js';
import type { Node as _meshrun_v1_Node, Node__Output as _meshrun_v1_Node__Output } from '../../meshrun/v1/Node.js';
import type { NodeList as _meshrun_v1_NodeList, NodeList__Output as _meshrun_v1_NodeList__Output } from '../../meshrun/v1/NodeList.js';
import type { NodeRef as _meshrun_v1_NodeRef, NodeRef__Output as _meshrun_v1_NodeRef__Output } from '../../meshrun/v1/NodeRef.js';
import type { NodeRemoveReply as _meshrun_v1_NodeRemoveReply, NodeRemoveReply__Output as _meshrun_v1_NodeRemoveReply__Output } from '../../meshrun/v1/NodeRemoveReply.js';
import type { RemoveUserReply as _meshrun_v1_RemoveUserReply, RemoveUserReply__Output as _meshrun_v1_RemoveUserReply__Output } from '../../meshrun/v1/RemoveUserReply.js';
import type { RetryJobRequest as _meshrun_v1_RetryJobRequest, RetryJobRequest__Output as _meshrun_v1_RetryJobRequest__Output } from '../../meshrun/v1/RetryJobRequest.js';
import type { RunScheduleReply as _meshrun_v1_RunScheduleReply, RunScheduleReply__Output as _meshrun_v1_RunScheduleReply__Output } from '../../meshrun/v1/RunScheduleReply.js';
import type { Schedule as _meshrun_v1_Schedule, Schedule__Output as _meshrun_v1_Schedule__Output } from '../../meshrun/v1/Schedule.js';
import type { ScheduleList as _meshrun_v1_ScheduleList, ScheduleList__Output as _meshrun_v1_ScheduleList__Output } from '../../meshrun/v1/ScheduleList.js';
import type { ScheduleRef as _meshrun_v1_ScheduleRef, ScheduleRef__Output as _meshrun_v1_ScheduleRef__Output } from '../../meshrun/v1/ScheduleRef.js';
import type { SubmitReply as _meshrun_v1_SubmitReply, SubmitReply__Output as _meshrun_v1_SubmitReply__Output } from '../../meshrun/v1/SubmitReply.js';
import type { SubmitRequest as _meshrun_v1_SubmitRequest, SubmitRequest__Output as _meshrun_v1_SubmitRequest__Output } from '../../meshrun/v1/SubmitRequest.js';
import type { UserList as _meshrun_v1_UserList, UserList__Output as _meshrun_v1_UserList__Output } from '../../meshrun/v1/UserList.js';
import type { UserRef as _meshrun_v1_UserRef, UserRef__Output as _meshrun_v1_UserRef__Output } from '../../meshrun/v1/UserRef.js';
import type { WebLoginReply as _meshrun_v1_WebLoginReply, WebLoginReply__Output as _meshrun_v1_WebLoginReply__Output } from '../../meshrun/v1/WebLoginReply.js';
import type { WebLoginRequest as _meshrun_v1_WebLoginRequest, WebLoginRequest__Output as _meshrun_v1_WebLoginRequest__Output } from '../../meshrun/v1/WebLoginRequest.js';
import type { WhoAmIRequest as _meshrun_v1_WhoAmIRequest, WhoAmIRequest__Output as _meshrun_v1_WhoAmIRequest__Output } from '../../meshrun/v1/WhoAmIRequest.js';

export interface MeshrunClient extends grpc.Client {
  AddUser(argument: _meshrun_v1_AddUserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  AddUser(argument: _meshrun_v1_AddUserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  AddUser(argument: _meshrun_v1_AddUserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  AddUser(argument: _meshrun_v1_AddUserRequest, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  addUser(argument: _meshrun_v1_AddUserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  addUser(argument: _meshrun_v1_AddUserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  addUser(argument: _meshrun_v1_AddUserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  addUser(argument: _meshrun_v1_AddUserRequest, callback: grpc.requestCallback<_meshrun_v1_AddUserReply__Output>): grpc.ClientUnaryCall;
  
  CancelJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _meshrun_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _meshrun_v1_JobRef, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _meshrun_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _meshrun_v1_JobRef, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  
  CreateJoinToken(argument: _meshrun_v1_JoinTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  CreateJoinToken(argument: _meshrun_v1_JoinTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  CreateJoinToken(argument: _meshrun_v1_JoinTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  CreateJoinToken(argument: _meshrun_v1_JoinTokenRequest, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _meshrun_v1_JoinTokenRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _meshrun_v1_JoinTokenRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _meshrun_v1_JoinTokenRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  createJoinToken(argument: _meshrun_v1_JoinTokenRequest, callback: grpc.requestCallback<_meshrun_v1_JoinTokenReply__Output>): grpc.ClientUnaryCall;
  
  CreateSchedule(argument: _meshrun_v1_CreateScheduleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  CreateSchedule(argument: _meshrun_v1_CreateScheduleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  CreateSchedule(argument: _meshrun_v1_CreateScheduleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  CreateSchedule(argument: _meshrun_v1_CreateScheduleRequest, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  createSchedule(argument: _meshrun_v1_CreateScheduleRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  createSchedule(argument: _meshrun_v1_CreateScheduleRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  createSchedule(argument: _meshrun_v1_CreateScheduleRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  createSchedule(argument: _meshrun_v1_CreateScheduleRequest, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  
  CreateWebLogin(argument: _meshrun_v1_WebLoginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  CreateWebLogin(argument: _meshrun_v1_WebLoginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  CreateWebLogin(argument: _meshrun_v1_WebLoginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  CreateWebLogin(argument: _meshrun_v1_WebLoginRequest, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  createWebLogin(argument: _meshrun_v1_WebLoginRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  createWebLogin(argument: _meshrun_v1_WebLoginRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  createWebLogin(argument: _meshrun_v1_WebLoginRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  createWebLogin(argument: _meshrun_v1_WebLoginRequest, callback: grpc.requestCallback<_meshrun_v1_WebLoginReply__Output>): grpc.ClientUnaryCall;
  
  DeleteSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  DeleteSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  DeleteSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  DeleteSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  deleteSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  deleteSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  deleteSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  deleteSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  
  DrainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  DrainNode(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  drainNode(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  
  FollowLogs(argument: _meshrun_v1_LogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_LogEvent__Output>;
  FollowLogs(argument: _meshrun_v1_LogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_LogEvent__Output>;
  followLogs(argument: _meshrun_v1_LogsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_LogEvent__Output>;
  followLogs(argument: _meshrun_v1_LogsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_LogEvent__Output>;
  
  GetArtifacts(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_ArtifactChunk__Output>;
  GetArtifacts(argument: _meshrun_v1_JobRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_ArtifactChunk__Output>;
  getArtifacts(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_ArtifactChunk__Output>;
  getArtifacts(argument: _meshrun_v1_JobRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_ArtifactChunk__Output>;
  
  GetJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _meshrun_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _meshrun_v1_JobRef, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _meshrun_v1_JobRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _meshrun_v1_JobRef, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  
  GetSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  GetSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  GetSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  GetSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  getSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  getSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  getSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  getSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  
  Join(argument: _meshrun_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _meshrun_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _meshrun_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  Join(argument: _meshrun_v1_JoinRequest, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _meshrun_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _meshrun_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _meshrun_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  join(argument: _meshrun_v1_JoinRequest, callback: grpc.requestCallback<_meshrun_v1_JoinReply__Output>): grpc.ClientUnaryCall;
  
  ListAudit(argument: _meshrun_v1_AuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  ListAudit(argument: _meshrun_v1_AuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  ListAudit(argument: _meshrun_v1_AuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  ListAudit(argument: _meshrun_v1_AuditRequest, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _meshrun_v1_AuditRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _meshrun_v1_AuditRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _meshrun_v1_AuditRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  listAudit(argument: _meshrun_v1_AuditRequest, callback: grpc.requestCallback<_meshrun_v1_AuditList__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _meshrun_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _meshrun_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _meshrun_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _meshrun_v1_ListJobsRequest, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _meshrun_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _meshrun_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _meshrun_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _meshrun_v1_ListJobsRequest, callback: grpc.requestCallback<_meshrun_v1_JobList__Output>): grpc.ClientUnaryCall;
  
  ListNodes(argument: _meshrun_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _meshrun_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _meshrun_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  ListNodes(argument: _meshrun_v1_ListNodesRequest, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _meshrun_v1_ListNodesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _meshrun_v1_ListNodesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _meshrun_v1_ListNodesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  listNodes(argument: _meshrun_v1_ListNodesRequest, callback: grpc.requestCallback<_meshrun_v1_NodeList__Output>): grpc.ClientUnaryCall;
  
  ListSchedules(argument: _meshrun_v1_ListSchedulesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  ListSchedules(argument: _meshrun_v1_ListSchedulesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  ListSchedules(argument: _meshrun_v1_ListSchedulesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  ListSchedules(argument: _meshrun_v1_ListSchedulesRequest, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  listSchedules(argument: _meshrun_v1_ListSchedulesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  listSchedules(argument: _meshrun_v1_ListSchedulesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  listSchedules(argument: _meshrun_v1_ListSchedulesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  listSchedules(argument: _meshrun_v1_ListSchedulesRequest, callback: grpc.requestCallback<_meshrun_v1_ScheduleList__Output>): grpc.ClientUnaryCall;
  
  ListUsers(argument: _meshrun_v1_ListUsersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  ListUsers(argument: _meshrun_v1_ListUsersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  ListUsers(argument: _meshrun_v1_ListUsersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  ListUsers(argument: _meshrun_v1_ListUsersRequest, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  listUsers(argument: _meshrun_v1_ListUsersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  listUsers(argument: _meshrun_v1_ListUsersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  listUsers(argument: _meshrun_v1_ListUsersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  listUsers(argument: _meshrun_v1_ListUsersRequest, callback: grpc.requestCallback<_meshrun_v1_UserList__Output>): grpc.ClientUnaryCall;
  
  MeshJoin(argument: _meshrun_v1_MeshJoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  MeshJoin(argument: _meshrun_v1_MeshJoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  MeshJoin(argument: _meshrun_v1_MeshJoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  MeshJoin(argument: _meshrun_v1_MeshJoinRequest, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  meshJoin(argument: _meshrun_v1_MeshJoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  meshJoin(argument: _meshrun_v1_MeshJoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  meshJoin(argument: _meshrun_v1_MeshJoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  meshJoin(argument: _meshrun_v1_MeshJoinRequest, callback: grpc.requestCallback<_meshrun_v1_MeshJoinReply__Output>): grpc.ClientUnaryCall;
  
  MeshLeave(argument: _meshrun_v1_MeshLeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  MeshLeave(argument: _meshrun_v1_MeshLeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  MeshLeave(argument: _meshrun_v1_MeshLeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  MeshLeave(argument: _meshrun_v1_MeshLeaveRequest, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  meshLeave(argument: _meshrun_v1_MeshLeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  meshLeave(argument: _meshrun_v1_MeshLeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  meshLeave(argument: _meshrun_v1_MeshLeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  meshLeave(argument: _meshrun_v1_MeshLeaveRequest, callback: grpc.requestCallback<_meshrun_v1_MeshLeaveReply__Output>): grpc.ClientUnaryCall;
  
  MeshRotateKey(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  MeshRotateKey(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  MeshRotateKey(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  MeshRotateKey(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  meshRotateKey(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  meshRotateKey(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  meshRotateKey(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  meshRotateKey(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_MeshRotateReply__Output>): grpc.ClientUnaryCall;
  
  MeshStatus(argument: _meshrun_v1_MeshStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  MeshStatus(argument: _meshrun_v1_MeshStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  MeshStatus(argument: _meshrun_v1_MeshStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  MeshStatus(argument: _meshrun_v1_MeshStatusRequest, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  meshStatus(argument: _meshrun_v1_MeshStatusRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  meshStatus(argument: _meshrun_v1_MeshStatusRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  meshStatus(argument: _meshrun_v1_MeshStatusRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  meshStatus(argument: _meshrun_v1_MeshStatusRequest, callback: grpc.requestCallback<_meshrun_v1_MeshStatusReply__Output>): grpc.ClientUnaryCall;
  
  PauseSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  PauseSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  PauseSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  PauseSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  pauseSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  pauseSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  pauseSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  pauseSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  
  PutBlob(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  PutBlob(metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  PutBlob(options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  PutBlob(callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  putBlob(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  putBlob(metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  putBlob(options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  putBlob(callback: grpc.requestCallback<_meshrun_v1_BlobRef__Output>): grpc.ClientWritableStream<_meshrun_v1_BlobChunk>;
  
  RemoveNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  RemoveNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  RemoveNode(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  RemoveNode(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  removeNode(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_NodeRemoveReply__Output>): grpc.ClientUnaryCall;
  
  RemoveUser(argument: _meshrun_v1_UserRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  RemoveUser(argument: _meshrun_v1_UserRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  RemoveUser(argument: _meshrun_v1_UserRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  RemoveUser(argument: _meshrun_v1_UserRef, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  removeUser(argument: _meshrun_v1_UserRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  removeUser(argument: _meshrun_v1_UserRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  removeUser(argument: _meshrun_v1_UserRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  removeUser(argument: _meshrun_v1_UserRef, callback: grpc.requestCallback<_meshrun_v1_RemoveUserReply__Output>): grpc.ClientUnaryCall;
  
  ResumeSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  ResumeSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  ResumeSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  ResumeSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  resumeSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  resumeSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  resumeSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  resumeSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_Schedule__Output>): grpc.ClientUnaryCall;
  
  RetryJob(argument: _meshrun_v1_RetryJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  RetryJob(argument: _meshrun_v1_RetryJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  RetryJob(argument: _meshrun_v1_RetryJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  RetryJob(argument: _meshrun_v1_RetryJobRequest, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  retryJob(argument: _meshrun_v1_RetryJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  retryJob(argument: _meshrun_v1_RetryJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  retryJob(argument: _meshrun_v1_RetryJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  retryJob(argument: _meshrun_v1_RetryJobRequest, callback: grpc.requestCallback<_meshrun_v1_Job__Output>): grpc.ClientUnaryCall;
  
  RunSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  RunSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  RunSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  RunSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  runSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  runSchedule(argument: _meshrun_v1_ScheduleRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  runSchedule(argument: _meshrun_v1_ScheduleRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  runSchedule(argument: _meshrun_v1_ScheduleRef, callback: grpc.requestCallback<_meshrun_v1_RunScheduleReply__Output>): grpc.ClientUnaryCall;
  
  Submit(argument: _meshrun_v1_SubmitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  Submit(argument: _meshrun_v1_SubmitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  Submit(argument: _meshrun_v1_SubmitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  Submit(argument: _meshrun_v1_SubmitRequest, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  submit(argument: _meshrun_v1_SubmitRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  submit(argument: _meshrun_v1_SubmitRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  submit(argument: _meshrun_v1_SubmitRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  submit(argument: _meshrun_v1_SubmitRequest, callback: grpc.requestCallback<_meshrun_v1_SubmitReply__Output>): grpc.ClientUnaryCall;
  
  UndrainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  UndrainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  UndrainNode(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  UndrainNode(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  undrainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  undrainNode(argument: _meshrun_v1_NodeRef, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  undrainNode(argument: _meshrun_v1_NodeRef, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  undrainNode(argument: _meshrun_v1_NodeRef, callback: grpc.requestCallback<_meshrun_v1_Node__Output>): grpc.ClientUnaryCall;
  
  WatchJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_Job__Output>;
  WatchJob(argument: _meshrun_v1_JobRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_Job__Output>;
  watchJob(argument: _meshrun_v1_JobRef, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_Job__Output>;
  watchJob(argument: _meshrun_v1_JobRef, options?: grpc.CallOptions): grpc.ClientReadableStream<_meshrun_v1_Job__Output>;
  
  WhoAmI(argument: _meshrun_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _meshrun_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _meshrun_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  WhoAmI(argument: _meshrun_v1_WhoAmIRequest, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _meshrun_v1_WhoAmIRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _meshrun_v1_WhoAmIRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _meshrun_v1_WhoAmIRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  whoAmI(argument: _meshrun_v1_WhoAmIRequest, callback: grpc.requestCallback<_meshrun_v1_Identity__Output>): grpc.ClientUnaryCall;
  
}

export interface MeshrunHandlers extends grpc.UntypedServiceImplementation {
  AddUser: grpc.handleUnaryCall<_meshrun_v1_AddUserRequest__Output, _meshrun_v1_AddUserReply>;
  
  CancelJob: grpc.handleUnaryCall<_meshrun_v1_JobRef__Output, _meshrun_v1_Job>;
  
  CreateJoinToken: grpc.handleUnaryCall<_meshrun_v1_JoinTokenRequest__Output, _meshrun_v1_JoinTokenReply>;
  
  CreateSchedule: grpc.handleUnaryCall<_meshrun_v1_CreateScheduleRequest__Output, _meshrun_v1_Schedule>;
  
  CreateWebLogin: grpc.handleUnaryCall<_meshrun_v1_WebLoginRequest__Output, _meshrun_v1_WebLoginReply>;
  
  DeleteSchedule: grpc.handleUnaryCall<_meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule>;
  
  DrainNode: grpc.handleUnaryCall<_meshrun_v1_NodeRef__Output, _meshrun_v1_Node>;
  
  FollowLogs: grpc.handleServerStreamingCall<_meshrun_v1_LogsRequest__Output, _meshrun_v1_LogEvent>;
  
  GetArtifacts: grpc.handleServerStreamingCall<_meshrun_v1_JobRef__Output, _meshrun_v1_ArtifactChunk>;
  
  GetJob: grpc.handleUnaryCall<_meshrun_v1_JobRef__Output, _meshrun_v1_Job>;
  
  GetSchedule: grpc.handleUnaryCall<_meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule>;
  
  Join: grpc.handleUnaryCall<_meshrun_v1_JoinRequest__Output, _meshrun_v1_JoinReply>;
  
  ListAudit: grpc.handleUnaryCall<_meshrun_v1_AuditRequest__Output, _meshrun_v1_AuditList>;
  
  ListJobs: grpc.handleUnaryCall<_meshrun_v1_ListJobsRequest__Output, _meshrun_v1_JobList>;
  
  ListNodes: grpc.handleUnaryCall<_meshrun_v1_ListNodesRequest__Output, _meshrun_v1_NodeList>;
  
  ListSchedules: grpc.handleUnaryCall<_meshrun_v1_ListSchedulesRequest__Output, _meshrun_v1_ScheduleList>;
  
  ListUsers: grpc.handleUnaryCall<_meshrun_v1_ListUsersRequest__Output, _meshrun_v1_UserList>;
  
  MeshJoin: grpc.handleUnaryCall<_meshrun_v1_MeshJoinRequest__Output, _meshrun_v1_MeshJoinReply>;
  
  MeshLeave: grpc.handleUnaryCall<_meshrun_v1_MeshLeaveRequest__Output, _meshrun_v1_MeshLeaveReply>;
  
  MeshRotateKey: grpc.handleUnaryCall<_meshrun_v1_NodeRef__Output, _meshrun_v1_MeshRotateReply>;
  
  MeshStatus: grpc.handleUnaryCall<_meshrun_v1_MeshStatusRequest__Output, _meshrun_v1_MeshStatusReply>;
  
  PauseSchedule: grpc.handleUnaryCall<_meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule>;
  
  PutBlob: grpc.handleClientStreamingCall<_meshrun_v1_BlobChunk__Output, _meshrun_v1_BlobRef>;
  
  RemoveNode: grpc.handleUnaryCall<_meshrun_v1_NodeRef__Output, _meshrun_v1_NodeRemoveReply>;
  
  RemoveUser: grpc.handleUnaryCall<_meshrun_v1_UserRef__Output, _meshrun_v1_RemoveUserReply>;
  
  ResumeSchedule: grpc.handleUnaryCall<_meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule>;
  
  RetryJob: grpc.handleUnaryCall<_meshrun_v1_RetryJobRequest__Output, _meshrun_v1_Job>;
  
  RunSchedule: grpc.handleUnaryCall<_meshrun_v1_ScheduleRef__Output, _meshrun_v1_RunScheduleReply>;
  
  Submit: grpc.handleUnaryCall<_meshrun_v1_SubmitRequest__Output, _meshrun_v1_SubmitReply>;
  
  UndrainNode: grpc.handleUnaryCall<_meshrun_v1_NodeRef__Output, _meshrun_v1_Node>;
  
  WatchJob: grpc.handleServerStreamingCall<_meshrun_v1_JobRef__Output, _meshrun_v1_Job>;
  
  WhoAmI: grpc.handleUnaryCall<_meshrun_v1_WhoAmIRequest__Output, _meshrun_v1_Identity>;
  
}

export interface MeshrunDefinition extends grpc.ServiceDefinition {
  AddUser: MethodDefinition<_meshrun_v1_AddUserRequest, _meshrun_v1_AddUserReply, _meshrun_v1_AddUserRequest__Output, _meshrun_v1_AddUserReply__Output>
  CancelJob: MethodDefinition<_meshrun_v1_JobRef, _meshrun_v1_Job, _meshrun_v1_JobRef__Output, _meshrun_v1_Job__Output>
  CreateJoinToken: MethodDefinition<_meshrun_v1_JoinTokenRequest, _meshrun_v1_JoinTokenReply, _meshrun_v1_JoinTokenRequest__Output, _meshrun_v1_JoinTokenReply__Output>
  CreateSchedule: MethodDefinition<_meshrun_v1_CreateScheduleRequest, _meshrun_v1_Schedule, _meshrun_v1_CreateScheduleRequest__Output, _meshrun_v1_Schedule__Output>
  CreateWebLogin: MethodDefinition<_meshrun_v1_WebLoginRequest, _meshrun_v1_WebLoginReply, _meshrun_v1_WebLoginRequest__Output, _meshrun_v1_WebLoginReply__Output>
  DeleteSchedule: MethodDefinition<_meshrun_v1_ScheduleRef, _meshrun_v1_Schedule, _meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule__Output>
  DrainNode: MethodDefinition<_meshrun_v1_NodeRef, _meshrun_v1_Node, _meshrun_v1_NodeRef__Output, _meshrun_v1_Node__Output>
  FollowLogs: MethodDefinition<_meshrun_v1_LogsRequest, _meshrun_v1_LogEvent, _meshrun_v1_LogsRequest__Output, _meshrun_v1_LogEvent__Output>
  GetArtifacts: MethodDefinition<_meshrun_v1_JobRef, _meshrun_v1_ArtifactChunk, _meshrun_v1_JobRef__Output, _meshrun_v1_ArtifactChunk__Output>
  GetJob: MethodDefinition<_meshrun_v1_JobRef, _meshrun_v1_Job, _meshrun_v1_JobRef__Output, _meshrun_v1_Job__Output>
  GetSchedule: MethodDefinition<_meshrun_v1_ScheduleRef, _meshrun_v1_Schedule, _meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule__Output>
  Join: MethodDefinition<_meshrun_v1_JoinRequest, _meshrun_v1_JoinReply, _meshrun_v1_JoinRequest__Output, _meshrun_v1_JoinReply__Output>
  ListAudit: MethodDefinition<_meshrun_v1_AuditRequest, _meshrun_v1_AuditList, _meshrun_v1_AuditRequest__Output, _meshrun_v1_AuditList__Output>
  ListJobs: MethodDefinition<_meshrun_v1_ListJobsRequest, _meshrun_v1_JobList, _meshrun_v1_ListJobsRequest__Output, _meshrun_v1_JobList__Output>
  ListNodes: MethodDefinition<_meshrun_v1_ListNodesRequest, _meshrun_v1_NodeList, _meshrun_v1_ListNodesRequest__Output, _meshrun_v1_NodeList__Output>
  ListSchedules: MethodDefinition<_meshrun_v1_ListSchedulesRequest, _meshrun_v1_ScheduleList, _meshrun_v1_ListSchedulesRequest__Output, _meshrun_v1_ScheduleList__Output>
  ListUsers: MethodDefinition<_meshrun_v1_ListUsersRequest, _meshrun_v1_UserList, _meshrun_v1_ListUsersRequest__Output, _meshrun_v1_UserList__Output>
  MeshJoin: MethodDefinition<_meshrun_v1_MeshJoinRequest, _meshrun_v1_MeshJoinReply, _meshrun_v1_MeshJoinRequest__Output, _meshrun_v1_MeshJoinReply__Output>
  MeshLeave: MethodDefinition<_meshrun_v1_MeshLeaveRequest, _meshrun_v1_MeshLeaveReply, _meshrun_v1_MeshLeaveRequest__Output, _meshrun_v1_MeshLeaveReply__Output>
  MeshRotateKey: MethodDefinition<_meshrun_v1_NodeRef, _meshrun_v1_MeshRotateReply, _meshrun_v1_NodeRef__Output, _meshrun_v1_MeshRotateReply__Output>
  MeshStatus: MethodDefinition<_meshrun_v1_MeshStatusRequest, _meshrun_v1_MeshStatusReply, _meshrun_v1_MeshStatusRequest__Output, _meshrun_v1_MeshStatusReply__Output>
  PauseSchedule: MethodDefinition<_meshrun_v1_ScheduleRef, _meshrun_v1_Schedule, _meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule__Output>
  PutBlob: MethodDefinition<_meshrun_v1_BlobChunk, _meshrun_v1_BlobRef, _meshrun_v1_BlobChunk__Output, _meshrun_v1_BlobRef__Output>
  RemoveNode: MethodDefinition<_meshrun_v1_NodeRef, _meshrun_v1_NodeRemoveReply, _meshrun_v1_NodeRef__Output, _meshrun_v1_NodeRemoveReply__Output>
  RemoveUser: MethodDefinition<_meshrun_v1_UserRef, _meshrun_v1_RemoveUserReply, _meshrun_v1_UserRef__Output, _meshrun_v1_RemoveUserReply__Output>
  ResumeSchedule: MethodDefinition<_meshrun_v1_ScheduleRef, _meshrun_v1_Schedule, _meshrun_v1_ScheduleRef__Output, _meshrun_v1_Schedule__Output>
  RetryJob: MethodDefinition<_meshrun_v1_RetryJobRequest, _meshrun_v1_Job, _meshrun_v1_RetryJobRequest__Output, _meshrun_v1_Job__Output>
  RunSchedule: MethodDefinition<_meshrun_v1_ScheduleRef, _meshrun_v1_RunScheduleReply, _meshrun_v1_ScheduleRef__Output, _meshrun_v1_RunScheduleReply__Output>
  Submit: MethodDefinition<_meshrun_v1_SubmitRequest, _meshrun_v1_SubmitReply, _meshrun_v1_SubmitRequest__Output, _meshrun_v1_SubmitReply__Output>
  UndrainNode: MethodDefinition<_meshrun_v1_NodeRef, _meshrun_v1_Node, _meshrun_v1_NodeRef__Output, _meshrun_v1_Node__Output>
  WatchJob: MethodDefinition<_meshrun_v1_JobRef, _meshrun_v1_Job, _meshrun_v1_JobRef__Output, _meshrun_v1_Job__Output>
  WhoAmI: MethodDefinition<_meshrun_v1_WhoAmIRequest, _meshrun_v1_Identity, _meshrun_v1_WhoAmIRequest__Output, _meshrun_v1_Identity__Output>
}
