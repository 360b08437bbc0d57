package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	batonv1 "github.com/conncred/conncred/gen/c1/connectorapi/baton/v1"
	"github.com/conncred/conncred/gen/c1/connectorapi/baton/v1/batonv1connect"
	"github.com/conncred/conncred/internal/artifacthttp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// batonMaxMessage bounds one BatonService message: an upload's data
// message carries at most 1 MiB, plus framing.
const batonMaxMessage = 1<<20 + 4<<10

// batonCompressMinBytes is the smallest reply connect compresses. A
// client that accepts gzip (grpc-go does once anything in the connector
// registers it) got every reply gzipped: a poll's reply is ~20 bytes,
// which gzip makes longer, and resetting a compressor for it cost 5% of a
// poll's server CPU. Smaller replies now go out with the message's
// compressed flag unset, which the gRPC protocol allows under any
// negotiated encoding.
const batonCompressMinBytes = 1 << 10

// uploadTimeout bounds one UploadAsset stream (1 GiB at ~1 MiB/s).
const uploadTimeout = artifacthttp.Window

// batonRoutes mounts the BatonService (gRPC, gRPC-Web and Connect, by
// connect-go) on the same mux, port and TLS as the REST API. Every call is
// authenticated by its bearer access token exactly as REST calls are; the
// wing then refuses anything but a connector credential.
func (s *Server) batonRoutes() {
	if s.cfg.Baton == nil {
		return
	}
	path, h := batonv1connect.NewBatonServiceHandler(&batonRPC{s: s, svc: s.cfg.Baton},
		connect.WithReadMaxBytes(batonMaxMessage), connect.WithSendMaxBytes(batonMaxMessage),
		connect.WithCompressMinBytes(batonCompressMinBytes))
	s.mux.Handle("POST "+path, s.batonAuth(h))
}

// batonAuth authenticates a BatonService call before connect reads it, and
// answers a refusal in the caller's protocol (gRPC trailers for gRPC).
func (s *Server) batonAuth(next http.Handler) http.Handler {
	ew := connect.NewErrorWriter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			_ = ew.Write(w, r, connect.NewError(connect.CodeUnauthenticated, errors.New("send authorization: Bearer <access token> from POST /auth/v1/token (or DPoP <access token> with a DPoP proof)")))
			return
		}
		p, err := s.authenticate(r)
		if err != nil {
			setChallenge(err, w.Header())
			_ = ew.Write(w, r, s.connectError(r.Context(), err))
			return
		}
		noteClient(r.Context(), p.ClientID)
		if r.URL.Path == batonv1connect.BatonServiceUploadAssetProcedure {
			// An artifact may take longer to arrive than the server's
			// read timeout allows a JSON body; the upload's own size
			// limit bounds it instead.
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Now().Add(uploadTimeout))
			_ = rc.SetWriteDeadline(time.Now().Add(uploadTimeout))
		}
		next.ServeHTTP(w, r.WithContext(conncred.WithPrincipal(r.Context(), p)))
	})
}

// connectError is the one map from conncred errors to gRPC codes, as
// status() is for HTTP. Internal errors are logged and not shown.
func (s *Server) connectError(ctx context.Context, err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	var dc *dpopChallenge
	if errors.As(err, &dc) {
		return connect.NewError(connect.CodeUnauthenticated, errors.New(dc.desc))
	}
	code := connect.CodeInternal
	switch conncred.ErrorCode(err) {
	case conncred.EInvalid:
		code = connect.CodeInvalidArgument
	case conncred.ENotFound:
		code = connect.CodeNotFound
	case conncred.EConflict:
		code = connect.CodeFailedPrecondition
	case conncred.EUnauthenticated:
		code = connect.CodeUnauthenticated
	case conncred.EPermissionDenied:
		code = connect.CodePermissionDenied
	case conncred.EResourceExhausted:
		code = connect.CodeResourceExhausted
	case conncred.EUnavailable:
		code = connect.CodeUnavailable
		s.log.Warn("dependency unavailable", "request_id", requestID(ctx), "err", err)
	default:
		s.log.Error("internal error", "request_id", requestID(ctx), "err", err)
		return connect.NewError(code, errors.New("internal error (request id "+requestID(ctx)+")"))
	}
	return connect.NewError(code, errors.New(conncred.ErrorMessage(err)))
}

// batonRPC turns BatonService messages into baton.Service calls and back.
// It holds no rules.
type batonRPC struct {
	s   *Server
	svc *baton.Service
}

var _ batonv1connect.BatonServiceHandler = (*batonRPC)(nil)

func (b *batonRPC) Hello(ctx context.Context, req *connect.Request[batonv1.BatonServiceHelloRequest]) (*connect.Response[batonv1.BatonServiceHelloResponse], error) {
	m := req.Msg
	in := baton.HelloRequest{HostID: m.GetHostId(), TaskID: m.GetTaskId(),
		DisplayName: m.GetConnectorMetadata().GetDisplayName(), Description: m.GetConnectorMetadata().GetDescription(),
		Package: m.GetBuildInfo().GetPackage(), PackageVersion: m.GetBuildInfo().GetPackageVersion(), LangVersion: m.GetBuildInfo().GetLangVersion()}
	if o := m.GetOsInfo(); o != nil {
		in.OS = baton.OSInfo{Hostname: o.GetHostname(), OS: o.GetOs(), Platform: o.GetPlatform(), PlatformVersion: o.GetPlatformVersion(),
			PlatformFamily: o.GetPlatformFamily(), KernelVersion: o.GetKernelVersion(), KernelArch: o.GetKernelArch(), VirtualizationSystem: o.GetVirtualizationSystem()}
	}
	if err := b.svc.Hello(ctx, in); err != nil {
		return nil, b.s.connectError(ctx, err)
	}
	return connect.NewResponse(&batonv1.BatonServiceHelloResponse{}), nil
}

func (b *batonRPC) GetTask(ctx context.Context, req *connect.Request[batonv1.BatonServiceGetTaskRequest]) (*connect.Response[batonv1.BatonServiceGetTaskResponse], error) {
	poll, err := b.svc.NextTasks(ctx, req.Msg.GetHostId(), 1)
	if err != nil {
		return nil, b.s.connectError(ctx, err)
	}
	out := &batonv1.BatonServiceGetTaskResponse{NextPoll: durationpb.New(poll.NextPoll), NextHeartbeat: durationpb.New(poll.NextHeartbeat)}
	if len(poll.Tasks) > 0 {
		out.Task = wireTask(poll.Tasks[0])
	} else {
		// Unset and none both mean "no task" to every SDK; none says so
		// explicitly.
		out.Task = &batonv1.Task{TaskType: &batonv1.Task_None{None: &batonv1.Task_NoneTask{}}}
	}
	return connect.NewResponse(out), nil
}

func (b *batonRPC) GetTasks(ctx context.Context, req *connect.Request[batonv1.BatonServiceGetTasksRequest]) (*connect.Response[batonv1.BatonServiceGetTasksResponse], error) {
	n := int(req.Msg.GetPageSize())
	if n < 1 || n > 100 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("page_size must be 1 to 100"))
	}
	poll, err := b.svc.NextTasks(ctx, req.Msg.GetHostId(), n)
	if err != nil {
		return nil, b.s.connectError(ctx, err)
	}
	out := &batonv1.BatonServiceGetTasksResponse{NextPoll: durationpb.New(poll.NextPoll), NextHeartbeat: durationpb.New(poll.NextHeartbeat)}
	for _, t := range poll.Tasks {
		out.Tasks = append(out.Tasks, wireTask(t))
	}
	return connect.NewResponse(out), nil
}

// wireTask is the Task message of a task conncred hands out.
func wireTask(t baton.Task) *batonv1.Task {
	w := &batonv1.Task{Id: t.ID, Status: batonv1.Task_STATUS_RUNNING}
	switch t.Type {
	case baton.TypeSyncFull:
		w.TaskType = &batonv1.Task_SyncFull{SyncFull: &batonv1.Task_SyncFullTask{}}
	case baton.TypeHello:
		w.TaskType = &batonv1.Task_Hello{Hello: &batonv1.Task_HelloTask{}}
	}
	return w
}

func (b *batonRPC) Heartbeat(ctx context.Context, req *connect.Request[batonv1.BatonServiceHeartbeatRequest]) (*connect.Response[batonv1.BatonServiceHeartbeatResponse], error) {
	ids := req.Msg.GetTaskIds()
	if id := req.Msg.GetTaskId(); id != "" {
		ids = append([]string{id}, ids...)
	}
	beat, err := b.svc.Heartbeat(ctx, req.Msg.GetHostId(), ids)
	if err != nil {
		return nil, b.s.connectError(ctx, err)
	}
	out := &batonv1.BatonServiceHeartbeatResponse{NextHeartbeat: durationpb.New(beat.NextHeartbeat), CancelledTaskIds: beat.Cancelled}
	for _, id := range beat.Cancelled {
		if id == req.Msg.GetTaskId() {
			out.Cancelled = true
		}
	}
	return connect.NewResponse(out), nil
}

func (b *batonRPC) FinishTask(ctx context.Context, req *connect.Request[batonv1.BatonServiceFinishTaskRequest]) (*connect.Response[batonv1.BatonServiceFinishTaskResponse], error) {
	m := req.Msg
	in := baton.FinishRequest{HostID: m.GetHostId(), TaskID: m.GetTaskId(), ErrorCode: int(m.GetStatus().GetCode()), ErrorMessage: m.GetStatus().GetMessage()}
	var resp proto.Message
	switch st := m.GetFinalState().(type) {
	case *batonv1.BatonServiceFinishTaskRequest_Success_:
		in.Success = true
		if r := st.Success.GetResponse(); r != nil {
			resp = r
		}
	case *batonv1.BatonServiceFinishTaskRequest_Error_:
		in.NonRetryable = st.Error.GetNonRetryable()
		if r := st.Error.GetResponse(); r != nil {
			resp = r
		}
	default:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("final_state must be success or error"))
	}
	if resp != nil {
		raw, err := proto.Marshal(resp)
		if err != nil {
			return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("the response Any does not encode"))
		}
		in.Response = raw
	}
	if err := b.svc.Finish(ctx, in); err != nil {
		return nil, b.s.connectError(ctx, err)
	}
	return connect.NewResponse(&batonv1.BatonServiceFinishTaskResponse{}), nil
}

func (b *batonRPC) UploadAsset(ctx context.Context, stream *connect.ClientStream[batonv1.BatonServiceUploadAssetRequest]) (*connect.Response[batonv1.BatonServiceUploadAssetResponse], error) {
	if _, err := b.svc.Upload(ctx, uploadStream{stream}); err != nil {
		return nil, b.s.connectError(ctx, err)
	}
	return connect.NewResponse(&batonv1.BatonServiceUploadAssetResponse{}), nil
}

func (b *batonRPC) StartDebugging(ctx context.Context, req *connect.Request[batonv1.StartDebuggingRequest]) (*connect.Response[batonv1.StartDebuggingResponse], error) {
	return nil, connect.NewError(connect.CodeUnimplemented, errors.New("conncred does not start debugging sessions"))
}

// uploadStream reads an UploadAsset stream for baton.Service.Upload.
type uploadStream struct {
	s *connect.ClientStream[batonv1.BatonServiceUploadAssetRequest]
}

func (u uploadStream) Next() (baton.UploadMessage, error) {
	if !u.s.Receive() {
		if err := u.s.Err(); err != nil {
			var ce *connect.Error
			if errors.As(err, &ce) && ce.Code() == connect.CodeInvalidArgument {
				return baton.UploadMessage{}, conncred.WrapError(conncred.EInvalid, err, "a malformed upload message; nothing was stored")
			}
			return baton.UploadMessage{}, conncred.WrapError(conncred.EInvalid, err, "the upload stream broke off; nothing was stored")
		}
		return baton.UploadMessage{}, errEOF
	}
	m := u.s.Msg()
	switch v := m.GetMsg().(type) {
	case *batonv1.BatonServiceUploadAssetRequest_Metadata:
		return baton.UploadMessage{Metadata: &baton.UploadMetadata{HostID: v.Metadata.GetHostId(), TaskID: v.Metadata.GetTaskId()}}, nil
	case *batonv1.BatonServiceUploadAssetRequest_Data:
		return baton.UploadMessage{Data: v.Data.GetData()}, nil
	case *batonv1.BatonServiceUploadAssetRequest_Eof:
		return baton.UploadMessage{EOF: &baton.UploadEOF{SHA256: v.Eof.GetSha256Checksum()}}, nil
	}
	return baton.UploadMessage{}, conncred.Errorf(conncred.EInvalid, "an upload message with none of metadata, data or eof")
}

var errEOF = io.EOF
