import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One alert of an Alertmanager webhook payload (version 4). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface WebhookNotification {
  /** Path the notification was posted to, e.g. `/pager`: one path per receiver. */
  path: string;
  receivedAt: number;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
}

export interface WebhookReceiver {
  url: string;
  notifications: WebhookNotification[];
  /** Alerts posted to `path` with the given status whose labels include `labels`. */
  find(path: string, status: 'firing' | 'resolved', labels: Record<string, string>): Array<WebhookAlert & { receivedAt: number }>;
  stop(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 recording Alertmanager webhook notifications, as a pager or chat integration would. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const notifications: WebhookNotification[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const payload = JSON.parse(body) as { status: 'firing' | 'resolved'; alerts: WebhookAlert[] };
      notifications.push({ path: request.url ?? '/', receivedAt: Date.now(), status: payload.status, alerts: payload.alerts });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    find(path, status, labels) {
      return notifications
        .filter((n) => n.path === path)
        .flatMap((n) => n.alerts.map((a) => ({ ...a, receivedAt: n.receivedAt })))
        .filter((a) => a.status === status && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
