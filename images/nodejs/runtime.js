'use strict';
// Hearth's Lambda Runtime API loop for Node.js (handler "file.function"),
// for async handlers and for callback handlers.
const http = require('http');
const path = require('path');
const { Writable } = require('stream');

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const base = '/2018-06-01/runtime';

// Lambda's log lines: each console call is one line of timestamp, request id and level, tab-separated,
// its own newlines turned into carriage returns so it stays one log event.
const util = require('util');
const { AsyncLocalStorage } = require('async_hooks');
// The request id of the invocation a console call belongs to: several run at once in an always-on
// environment (AWS_LAMBDA_MAX_CONCURRENCY); otherwise the one running.
const requestIds = new AsyncLocalStorage();
let currentRequestId;
// LoggingConfig's JSON format (AWS_LAMBDA_LOG_FORMAT=JSON): one object per call, and calls below
// AWS_LAMBDA_LOG_LEVEL left out, as Lambda's Node.js runtimes do.
const levels = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];
const jsonFormat = process.env.AWS_LAMBDA_LOG_FORMAT === 'JSON';
const lowest = jsonFormat ? Math.max(0, levels.indexOf(process.env.AWS_LAMBDA_LOG_LEVEL || 'INFO')) : 0;
for (const [method, level, stream] of [['log', 'INFO', process.stdout], ['info', 'INFO', process.stdout],
  ['debug', 'DEBUG', process.stdout], ['warn', 'WARN', process.stderr], ['error', 'ERROR', process.stderr],
  ['trace', 'TRACE', process.stderr]]) {
  if (levels.indexOf(level) < lowest) {
    console[method] = () => {};
    continue;
  }
  console[method] = (...args) => {
    const text = method === 'trace' ? util.format('Trace:', ...args) + '\n' + new Error().stack.split('\n').slice(2).join('\n') : util.format(...args);
    const requestId = requestIds.getStore() || currentRequestId;
    if (jsonFormat) {
      stream.write(JSON.stringify({ timestamp: new Date().toISOString(), level, requestId, message: text }) + '\n');
    } else {
      stream.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${text.replace(/\n/g, '\r')}\n`);
    }
  };
}

function call(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: base + urlPath, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Response streaming, as Lambda's Node.js runtime offers it: a handler wrapped in awslambda.streamifyResponse
// gets (event, responseStream, context) and writes its response as it goes; HttpResponseStream.from puts
// an HTTP status and headers in front (a JSON prelude and 8 NUL bytes) for function URLs.
const STREAMING = Symbol('streaming');
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
globalThis.awslambda = {
  streamifyResponse(fn) {
    fn[STREAMING] = true;
    return fn;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION);
      stream.write(JSON.stringify(prelude || {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

// The POST of a streamed response: opened at the first write (so the content type can still be set), chunked,
// each write sent at once; an error after the start goes in trailers, as Lambda's runtime sends it.
class ResponseStream extends Writable {
  constructor(id) {
    super();
    this.id = id;
    this.contentType = 'application/octet-stream';
    this.req = null;
    this.answered = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject; });
  }
  setContentType(type) { this.contentType = type; }
  open() {
    if (this.req) return;
    this.req = http.request({
      host, port, method: 'POST', path: `${base}/invocation/${this.id}/response`,
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming', 'Transfer-Encoding': 'chunked', 'Content-Type': this.contentType,
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      },
    }, (res) => { res.resume(); res.on('end', this.resolve); });
    this.req.on('error', this.reject);
    this.req.setNoDelay(true);
    this.req.flushHeaders();
  }
  _write(chunk, encoding, callback) { this.open(); this.req.write(chunk, callback); }
  _final(callback) { this.open(); this.req.end(callback); }
  fail(err) {
    this.open();
    this.req.addTrailers({
      'Lambda-Runtime-Function-Error-Type': (err && err.name) || 'Error',
      'Lambda-Runtime-Function-Error-Body': Buffer.from(errorBody(err)).toString('base64'),
    });
    this.req.end();
  }
}

function errorBody(err, type) {
  const e = err instanceof Error ? err : new Error(String(err));
  return JSON.stringify({
    errorType: type || e.name || 'Error',
    errorMessage: e.message,
    trace: (e.stack || '').split('\n'),
  });
}

async function loadHandler() {
  const handler = process.env._HANDLER || '';
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${handler}: expected file.function`), { runtimeType: 'Runtime.MalformedHandlerName' });
  const file = path.resolve(process.env.LAMBDA_TASK_ROOT || '/var/task', handler.slice(0, dot));
  let mod;
  try {
    mod = require(file);
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM' && e.code !== 'MODULE_NOT_FOUND') throw Object.assign(e, { runtimeType: 'Runtime.UserCodeSyntaxError' });
    try {
      mod = await import(file + (e.code === 'MODULE_NOT_FOUND' ? '.mjs' : '.js'));
    } catch (e2) {
      throw Object.assign(new Error(`Cannot find module '${handler.slice(0, dot)}'`), { runtimeType: 'Runtime.ImportModuleError' });
    }
  }
  const fn = mod[handler.slice(dot + 1)];
  if (typeof fn !== 'function') throw Object.assign(new Error(`${handler} is undefined or not exported`), { runtimeType: 'Runtime.HandlerNotFound' });
  return fn;
}

function parsedHeader(value) {
  return value ? JSON.parse(value) : undefined;
}

function invoke(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    context.done = done;
    context.succeed = (r) => done(null, r);
    context.fail = (e) => done(e);
    try {
      // Three parameters means a callback handler; otherwise the returned value (or promise) is the result.
      const returned = fn(event, context, done);
      if (fn.length < 3 || (returned && typeof returned.then === 'function')) Promise.resolve(returned).then((r) => done(null, r), done);
    } catch (e) {
      done(e);
    }
  });
}

async function main() {
  let fn;
  try {
    fn = await loadHandler();
  } catch (e) {
    const type = e.runtimeType || 'Runtime.ImportModuleError';
    await call('POST', '/init/error', errorBody(e, type), { 'Lambda-Runtime-Function-Error-Type': type });
    process.exit(1);
  }
  // Lambda Managed Instances' concurrent mode: that many loops, each with its own GET /next, interleaved
  // in this one process as its async handlers await.
  const workers = Math.max(1, Math.min(32, parseInt(process.env.AWS_LAMBDA_MAX_CONCURRENCY || '1', 10) || 1));
  await Promise.all(Array.from({ length: workers }, () => work(fn)));
}

async function work(fn) {
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    await requestIds.run(id, () => handle(fn, next, id));
  }
}

async function handle(fn, next, id) {
  const deadline = Number(next.headers['lambda-runtime-deadline-ms'] || 0);
  if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
  const context = {
    awsRequestId: id,
    invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    callbackWaitsForEmptyEventLoop: true,
    // As Lambda's Node.js runtime: the parsed documents, or undefined without the header.
    clientContext: parsedHeader(next.headers['lambda-runtime-client-context']),
    identity: parsedHeader(next.headers['lambda-runtime-cognito-identity']),
  };
  if (fn[STREAMING]) {
    const stream = new ResponseStream(id);
    try {
      const event = next.body ? JSON.parse(next.body) : null;
      await fn(event, stream, context);
      if (!stream.writableEnded) stream.end();
    } catch (e) {
      console.error(e);
      stream.fail(e);
    }
    await stream.answered.catch(() => {});
    return;
  }
  try {
    const event = next.body ? JSON.parse(next.body) : null;
    const result = await invoke(fn, event, context);
    await call('POST', `/invocation/${id}/response`, JSON.stringify(result === undefined ? null : result));
  } catch (e) {
    console.error(e);
    await call('POST', `/invocation/${id}/error`, errorBody(e), { 'Lambda-Runtime-Function-Error-Type': 'Unhandled' });
  }
}

main();
